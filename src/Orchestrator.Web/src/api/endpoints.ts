import { getJson, send, sendJson, withQuery } from './http';
import type {
  ApiKey, CreatedKey, CreateInstanceRequest, Instance, InstanceEventList, InstanceList, Run, RunList, RunStatus, Secret,
  SecretList, StartRunRequest, StepOutput, Tenant, TenantList, Workflow, WorkflowList, WorkflowVersion,
} from './types';

const enc = encodeURIComponent;

export const instancesApi = {
  list: (filter: { state?: string; region?: string; cursor?: string }) =>
    getJson<InstanceList>(withQuery('/api/instances', { limit: 100, ...filter })),
  get: (id: string) => getJson<Instance>(`/api/instances/${enc(id)}`),
  events: (id: string, cursor?: string) => getJson<InstanceEventList>(withQuery(`/api/instances/${enc(id)}/events`, { limit: 100, cursor })),
  create: (request: CreateInstanceRequest) => sendJson<Instance>('/api/instances', 'POST', request),
  act: (id: string, action: 'start' | 'stop' | 'restart') => sendJson<Instance>(`/api/instances/${enc(id)}/${action}`, 'POST'),
  destroy: (id: string, keepVolume: boolean) => sendJson<Instance>(withQuery(`/api/instances/${enc(id)}`, { keep_volume: keepVolume || undefined }), 'DELETE'),
};

export const workflowsApi = {
  list: () => getJson<WorkflowList>('/api/workflows'),
  get: (name: string) => getJson<Workflow>(`/api/workflows/${enc(name)}`),
  version: (name: string, version: number) => getJson<WorkflowVersion>(`/api/workflows/${enc(name)}/versions/${version}`),
  register: async (yaml: string) => {
    const response = await send('/api/workflows', { method: 'POST', body: yaml, contentType: 'application/yaml' });
    return (await response.json()) as WorkflowVersion;
  },
};

export const runsApi = {
  list: (filter: { status?: RunStatus | undefined; workflow?: string | undefined; cursor?: string | undefined }) =>
    getJson<RunList>(withQuery('/api/runs', { limit: 50, ...filter })),
  get: (id: string) => getJson<Run>(`/api/runs/${enc(id)}`),
  start: (request: StartRunRequest) => sendJson<Run>('/api/runs', 'POST', request),
  cancel: (id: string) => sendJson<Run>(`/api/runs/${enc(id)}/cancel`, 'POST'),
  retry: (id: string) => sendJson<Run>(`/api/runs/${enc(id)}/retry`, 'POST'),
  signal: (id: string, name: string, payload: unknown) => sendJson<Run>(`/api/runs/${enc(id)}/signals/${enc(name)}`, 'POST', payload ?? {}),
  stepOutput: (id: string, step: string) => getJson<StepOutput>(`/api/runs/${enc(id)}/steps/${enc(step)}/output`),
};

export const tenantsApi = {
  list: (cursor?: string) => getJson<TenantList>(withQuery('/api/tenants', { limit: 50, cursor })),
  create: (id: string, displayName: string) => sendJson<Tenant>('/api/tenants', 'POST', { id, display_name: displayName || undefined }),
  get: (id: string) => getJson<Tenant>(`/api/tenants/${enc(id)}`),
  setQuotas: (id: string, quotas: Record<string, number>) => sendJson<Tenant>(`/api/tenants/${enc(id)}/quotas`, 'PUT', quotas),
  keys: (id: string) => getJson<{ items: ApiKey[] }>(`/api/tenants/${enc(id)}/keys`),
  createKey: (id: string, name: string) => sendJson<CreatedKey>(`/api/tenants/${enc(id)}/keys`, 'POST', { name }),
  revokeKey: (id: string, keyId: string) => sendJson<ApiKey>(`/api/tenants/${enc(id)}/keys/${enc(keyId)}`, 'DELETE'),
};

export const secretsApi = {
  list: () => getJson<SecretList>('/api/secrets'),
  /** Creates or replaces the secret; `created` tells which (201 or 200). The value goes out in the body only. */
  put: async (name: string, value: string) => {
    const response = await send(`/api/secrets/${enc(name)}`, { method: 'PUT', json: { value } });
    return { secret: (await response.json()) as Secret, created: response.status === 201 };
  },
  remove: (name: string) => send(`/api/secrets/${enc(name)}`, { method: 'DELETE' }),
};
