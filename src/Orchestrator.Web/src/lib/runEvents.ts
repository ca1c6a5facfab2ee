import type { QueryClient } from '@tanstack/react-query';
import type { RunEvent } from '../api/types';

export const runEventsKey = (runId: string) => ['run-events', runId] as const;
export const runKey = (runId: string) => ['run', runId] as const;

// Enough for a long run's timeline and output; older events are still in the API.
const maxKeptEvents = 5000;

/** Adds a followed event to the run's events in the query cache (once per sequence) and marks the run stale on changes. */
export function recordRunEvent(queries: QueryClient, runId: string, event: RunEvent): void {
  queries.setQueryData<RunEvent[]>(runEventsKey(runId), (events = []) => {
    if (events.length > 0 && events[events.length - 1]!.sequence >= event.sequence) return events;
    const next = [...events, event];
    return next.length > maxKeptEvents ? next.slice(next.length - maxKeptEvents) : next;
  });
  if (event.kind !== 'step.output') void queries.invalidateQueries({ queryKey: runKey(runId) });
}

/** A step's output shown while it runs: the step.output events of its latest attempt, per stream. */
export function liveOutput(events: readonly RunEvent[], stepId: string): { attempt: number; stdout: string; stderr: string } | null {
  let attempt = -1;
  for (const event of events) if (event.step_id === stepId && event.kind === 'step.started') attempt = Math.max(attempt, event.attempt);
  if (attempt < 0) return null;
  let stdout = '';
  let stderr = '';
  for (const event of events) {
    if (event.step_id !== stepId || event.kind !== 'step.output' || event.attempt !== attempt) continue;
    const data = event.data as { stream?: string; data?: string } | null;
    if (data?.stream === 'stderr') stderr += data.data ?? '';
    else stdout += data?.data ?? '';
  }
  return { attempt, stdout, stderr };
}
