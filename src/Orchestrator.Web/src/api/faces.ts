import { getJson, send, sendJson, withQuery } from './http';
import type {
  CreateEnvironmentRequest, CreateSessionRequest, Environment, EnvironmentList, GitCommitResult, GitLog, GitPullResult,
  GitPushResult, GitStatus, Session, SessionList,
} from './types';

const enc = encodeURIComponent;

export const environmentsApi = {
  list: () => getJson<EnvironmentList>('/api/environments'),
  get: (id: string) => getJson<Environment>(`/api/environments/${enc(id)}`),
  create: (request: CreateEnvironmentRequest) => sendJson<Environment>('/api/environments', 'POST', request),
  remove: (id: string, keepVolume: boolean) => send(withQuery(`/api/environments/${enc(id)}`, { keep_volume: keepVolume || undefined }), { method: 'DELETE' }),
};

export const gitApi = {
  status: (id: string) => getJson<GitStatus>(`/api/environments/${enc(id)}/git/status`),
  diff: async (id: string, staged: boolean) => {
    const response = await send(withQuery(`/api/environments/${enc(id)}/git/diff`, { staged: staged || undefined }), { accept: 'text/plain' });
    return { text: await response.text(), truncated: response.headers.get('Diff-Truncated') === 'true' };
  },
  log: (id: string) => getJson<GitLog>(withQuery(`/api/environments/${enc(id)}/git/log`, { limit: 20 })),
  commit: (id: string, message: string) => sendJson<GitCommitResult>(`/api/environments/${enc(id)}/git/commit`, 'POST', { message, all: true }),
  push: (id: string) => sendJson<GitPushResult>(`/api/environments/${enc(id)}/git/push`, 'POST', {}),
  pull: (id: string) => sendJson<GitPullResult>(`/api/environments/${enc(id)}/git/pull`, 'POST'),
  checkout: (id: string, branch: string, create: boolean) => sendJson<GitStatus>(`/api/environments/${enc(id)}/git/checkout`, 'POST', { branch, create }),
};

export const sessionsApi = {
  list: (instanceId: string) => getJson<SessionList>(`/api/instances/${enc(instanceId)}/sessions`),
  create: (instanceId: string, request: CreateSessionRequest) => sendJson<Session>(`/api/instances/${enc(instanceId)}/sessions`, 'POST', request),
  remove: (instanceId: string, sessionId: string) => send(`/api/instances/${enc(instanceId)}/sessions/${enc(sessionId)}`, { method: 'DELETE' }),
};
