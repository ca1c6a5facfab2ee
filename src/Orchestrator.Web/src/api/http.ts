import { currentSignIn } from './auth';
import { ApiProblem, networkProblem, problemFrom } from './problem';

export interface RequestOptions {
  readonly method?: string;
  readonly json?: unknown;
  readonly body?: BodyInit;
  readonly contentType?: string;
  readonly accept?: string;
  readonly headers?: Record<string, string>;
  readonly signal?: AbortSignal;
}

/** Sends one API request with the signed-in key; a non-2xx answer throws its problem. */
export async function send(path: string, options: RequestOptions = {}): Promise<Response> {
  const headers = new Headers(options.headers);
  const signIn = currentSignIn();
  if (signIn) headers.set('Authorization', `Bearer ${signIn.key}`);
  headers.set('Accept', options.accept ?? 'application/json');
  let body = options.body;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers.set('Content-Type', 'application/json');
  } else if (options.contentType) {
    headers.set('Content-Type', options.contentType);
  }

  let response: Response;
  try {
    response = await fetch(path, { method: options.method ?? 'GET', headers, body: body ?? null, signal: options.signal ?? null });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw networkProblem(error);
  }
  if (!response.ok) throw await problemFrom(response);
  return response;
}

export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const response = await send(path, signal ? { signal } : {});
  return (await response.json()) as T;
}

export async function sendJson<T>(path: string, method: string, json?: unknown): Promise<T> {
  const response = await send(path, json === undefined ? { method } : { method, json });
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Builds `path?query` from the set values only, so an empty filter is not sent as `status=`. */
export function withQuery(path: string, query: Record<string, string | number | boolean | null | undefined>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') params.set(name, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

export { ApiProblem };
