import type { components } from './schema';

// The console's view of the API: names from the OpenAPI document, so a change the document does not carry fails `tsc`.
type Schemas = components['schemas'];
export type Instance = Schemas['InstanceResponse'];
export type InstanceList = Schemas['InstanceListResponse'];
export type InstanceEvent = Schemas['InstanceEventResponse'];
export type InstanceEventList = Schemas['InstanceEventListResponse'];
export type CreateInstanceRequest = Schemas['CreateInstanceRequest'];
export type Run = Schemas['RunResponse'];
export type RunSummary = Schemas['RunSummaryResponse'];
export type RunList = Schemas['RunListResponse'];
export type Step = Schemas['StepResponse'];
export type RunEvent = Schemas['RunEventItem'];
export type StartRunRequest = Schemas['StartRunRequest'];
export type StepOutput = Schemas['StepOutputResponse'];
export type Workflow = Schemas['WorkflowResponse'];
export type WorkflowList = Schemas['WorkflowListResponse'];
export type WorkflowVersion = Schemas['WorkflowVersionResponse'];
export type WorkflowInput = Schemas['WorkflowInput'];
export type Problem = Schemas['ProblemDetails'];
export type WorkflowError = NonNullable<Problem['errors']>[number];
export type Tenant = Schemas['TenantResponse'];
export type Quotas = Schemas['QuotasResponse'];
export type ApiKey = Schemas['KeyResponse'];
export type CreatedKey = Schemas['CreatedKeyResponse'];
export type ExecOutputEvent = Schemas['ExecOutputEvent'];
export type ExecExitEvent = Schemas['ExecExitEvent'];
export type RunStatus = NonNullable<NonNullable<import('./schema').operations['ListRuns']['parameters']['query']>['status']>;
