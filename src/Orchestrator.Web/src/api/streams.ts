import { send } from './http';
import { ApiProblem } from './problem';
import { LineSplitter, SseParser } from './sse';
import type { ExecExitEvent, ExecOutputEvent, RunEvent } from './types';

async function readText(response: Response, onChunk: (text: string) => void): Promise<void> {
  if (!response.body) return;
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    onChunk(value);
  }
}

export type ExecStreamItem = { kind: 'output'; event: ExecOutputEvent } | { kind: 'exit'; event: ExecExitEvent };

/** Runs a command and hands over its NDJSON lines as they arrive; aborting the signal stops the remote command. */
export async function execStream(instanceId: string, command: string, onItem: (item: ExecStreamItem) => void, signal: AbortSignal): Promise<void> {
  const response = await send(`/api/instances/${encodeURIComponent(instanceId)}/exec`, {
    method: 'POST', json: { command }, accept: 'application/x-ndjson', signal,
  });
  const lines = new LineSplitter();
  const handle = (line: string) => {
    const item = JSON.parse(line) as Record<string, unknown>;
    if ('exit_code' in item) onItem({ kind: 'exit', event: item as unknown as ExecExitEvent });
    else if (item.stream === 'error') throw new ApiProblem({ status: 502, title: String(item.title ?? 'The command failed'), detail: String(item.detail ?? '') });
    else onItem({ kind: 'output', event: item as unknown as ExecOutputEvent });
  };
  await readText(response, (text) => lines.push(text).forEach(handle));
  lines.flush().forEach(handle);
}

export interface FollowOptions {
  readonly fromSequence: number;
  readonly signal: AbortSignal;
  readonly onEvent: (event: RunEvent) => void;
  /** Called when the stream ended because the run did. */
  readonly onEnd?: () => void;
  /** Called before each reconnect, with the problem that broke the stream. */
  readonly onInterrupted?: (problem: unknown) => void;
  readonly retryDelayMs?: number;
}

const terminalKinds = new Set(['run.completed', 'run.failed', 'run.cancelled']);

/**
 * Follows a run's events over SSE from a sequence on, reconnecting with Last-Event-ID when the stream drops, until
 * the run ends or the signal aborts. Events are handed over once each, in sequence order.
 */
export async function followRunEvents(runId: string, options: FollowOptions): Promise<void> {
  let last = options.fromSequence - 1;
  while (!options.signal.aborted) {
    try {
      const response = await send(`/api/runs/${encodeURIComponent(runId)}/events`, {
        accept: 'text/event-stream', signal: options.signal,
        headers: last >= 0 ? { 'Last-Event-ID': String(last) } : {},
      });
      const parser = new SseParser();
      let ended = false;
      await readText(response, (text) => {
        for (const message of parser.push(text)) {
          if (message.event === 'error') throw new ApiProblem({ status: 502, title: 'The run\'s event stream was interrupted', detail: message.data });
          const event = JSON.parse(message.data) as RunEvent;
          if (event.sequence <= last) continue;
          last = event.sequence;
          options.onEvent(event);
          if (terminalKinds.has(event.kind)) ended = true;
        }
      });
      if (ended) {
        options.onEnd?.();
        return;
      }
    } catch (error) {
      if (options.signal.aborted) return;
      if (error instanceof ApiProblem && error.status >= 400 && error.status < 500) throw error;
      options.onInterrupted?.(error);
    }
    await new Promise((resolve) => setTimeout(resolve, options.retryDelayMs ?? 1000));
  }
}
