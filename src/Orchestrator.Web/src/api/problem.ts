import type { Problem, WorkflowError } from './types';

/** An API answer that was not a success: the problem details the API sent, or one made up for a network failure. */
export class ApiProblem extends Error {
  readonly status: number;
  readonly type: string;
  readonly title: string;
  readonly detail: string | undefined;
  readonly requestId: string | undefined;
  readonly field: string | undefined;
  readonly errors: readonly WorkflowError[];

  constructor(problem: Partial<Problem> & { status: number; title: string }) {
    super(problem.detail ?? problem.title);
    this.name = 'ApiProblem';
    this.status = problem.status;
    this.type = problem.type ?? 'about:blank';
    this.title = problem.title;
    this.detail = problem.detail;
    this.requestId = problem.request_id;
    this.field = problem.field;
    this.errors = problem.errors ?? [];
  }

  /** One line for a person: title, detail, the field, and the request id to quote when reporting it. */
  describe(): string {
    const parts = [this.title];
    if (this.detail && this.detail !== this.title) parts.push(this.detail);
    if (this.field) parts.push(`(field: ${this.field})`);
    if (this.requestId) parts.push(`[request ${this.requestId}]`);
    return parts.join(' — ');
  }
}

/** Reads a failed response as a problem, whatever its body is. */
export async function problemFrom(response: Response): Promise<ApiProblem> {
  const text = await response.text();
  const contentType = response.headers.get('content-type') ?? '';
  if (contentType.includes('json') && text.length > 0) {
    try {
      const body = JSON.parse(text) as Partial<Problem>;
      if (typeof body === 'object' && body !== null && typeof body.title === 'string') {
        return new ApiProblem({ ...body, status: body.status ?? response.status, title: body.title });
      }
    } catch (error) {
      // A JSON content type with a body that does not parse: report it as it came, below.
      console.warn('unreadable problem body', error);
    }
  }
  return new ApiProblem({
    status: response.status,
    title: response.statusText || `HTTP ${response.status}`,
    detail: text.slice(0, 300) || undefined,
    request_id: response.headers.get('x-request-id') ?? undefined,
  });
}

export function networkProblem(error: unknown): ApiProblem {
  return new ApiProblem({ status: 0, title: 'The server could not be reached', detail: error instanceof Error ? error.message : String(error) });
}
