import { currentSignIn } from './auth';
import { withQuery } from './http';
import { ApiProblem, networkProblem, problemFrom } from './problem';
import type { FileWritten } from './types';

const enc = encodeURIComponent;

export interface Progress {
  readonly done: number;
  /** Null while the size is not known. */
  readonly total: number | null;
}

const filesPath = (instanceId: string) => `/api/instances/${enc(instanceId)}/files`;

/**
 * Writes a local file to the instance's machine. XMLHttpRequest rather than fetch: only it reports how much of a
 * request body has gone out, and fetch can stream a body only over HTTP/2. The key goes in the header, never the URL.
 */
export function uploadFile(
  instanceId: string, path: string, mode: string, file: Blob, onProgress: (progress: Progress) => void, signal: AbortSignal,
): Promise<FileWritten> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', withQuery(filesPath(instanceId), { path, mode }));
    const signIn = currentSignIn();
    if (signIn) xhr.setRequestHeader('Authorization', `Bearer ${signIn.key}`);
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.responseType = 'text';
    xhr.upload.onprogress = (event) => onProgress({ done: event.loaded, total: event.lengthComputable ? event.total : file.size });
    xhr.onerror = () => reject(networkProblem(new Error('the upload was interrupted')));
    xhr.onabort = () => reject(new DOMException('The upload was cancelled.', 'AbortError'));
    xhr.onload = () => {
      const response = new Response(xhr.responseText, { status: xhr.status, statusText: xhr.statusText, headers: responseHeaders(xhr) });
      if (response.ok) {
        resolve(response.json() as Promise<FileWritten>);
      } else {
        void problemFrom(response).then(reject, reject);
      }
    };
    if (signal.aborted) {
      reject(new DOMException('The upload was cancelled.', 'AbortError'));
      return;
    }
    signal.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(file);
  });
}

/** The headers a problem is read from: its type, and the request id when the body carries none. */
function responseHeaders(xhr: XMLHttpRequest): Headers {
  const headers = new Headers();
  for (const name of ['content-type', 'x-request-id']) {
    const value = xhr.getResponseHeader(name);
    if (value) headers.set(name, value);
  }
  return headers;
}

/** Reads a file from the instance's machine into memory, reporting progress against its Content-Length. */
export async function downloadFile(instanceId: string, path: string, onProgress: (progress: Progress) => void, signal: AbortSignal): Promise<Blob> {
  const headers = new Headers({ Accept: 'application/octet-stream, application/problem+json' });
  const signIn = currentSignIn();
  if (signIn) headers.set('Authorization', `Bearer ${signIn.key}`);
  let response: Response;
  try {
    response = await fetch(withQuery(filesPath(instanceId), { path }), { headers, signal });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw networkProblem(error);
  }
  if (!response.ok) throw await problemFrom(response);

  const length = Number(response.headers.get('content-length'));
  const total = Number.isFinite(length) && length > 0 ? length : null;
  if (!response.body) return response.blob();
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  let done = 0;
  const reader = response.body.getReader();
  try {
    for (;;) {
      const read = await reader.read();
      if (read.done) break;
      chunks.push(read.value);
      done += read.value.byteLength;
      onProgress({ done, total });
    }
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    // The server cuts the connection when it cannot send the whole file: never save a part of one.
    throw new ApiProblem({ status: 0, title: 'The download was cut short', detail: `${done} of ${total ?? 'unknown'} bytes arrived; nothing was saved.` });
  }
  if (total !== null && done !== total) {
    throw new ApiProblem({ status: 0, title: 'The download was cut short', detail: `${done} of ${total} bytes arrived; nothing was saved.` });
  }
  return new Blob(chunks, { type: 'application/octet-stream' });
}

/** Hands a blob to the browser as a download named `name`, through an object URL that is released afterwards. */
export function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.rel = 'noopener';
  document.body.append(link);
  link.click();
  link.remove();
  // The click starts the download asynchronously: release the URL once it has been handed over.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
