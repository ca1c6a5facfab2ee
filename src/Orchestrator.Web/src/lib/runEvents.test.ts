import { QueryClient } from '@tanstack/react-query';
import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../api/types';
import { liveOutput, recordRunEvent, runEventsKey } from './runEvents';

const event = (sequence: number, kind: string, step: string | null, attempt: number, data: unknown = null): RunEvent =>
  ({ sequence, at: '2026-01-01T00:00:00Z', kind, step_id: step, attempt, data });

describe('recordRunEvent', () => {
  it('keeps each sequence once, in order', () => {
    const queries = new QueryClient();
    for (const e of [event(1, 'run.started', null, 0), event(2, 'step.started', 'a', 1), event(2, 'step.started', 'a', 1), event(1, 'run.started', null, 0)]) {
      recordRunEvent(queries, 'run-1', e);
    }
    expect(queries.getQueryData<RunEvent[]>(runEventsKey('run-1'))?.map((e) => e.sequence)).toEqual([1, 2]);
  });
});

describe('liveOutput', () => {
  it('shows the latest attempt only, per stream', () => {
    const events = [
      event(1, 'step.started', 'a', 1), event(2, 'step.output', 'a', 1, { stream: 'stdout', data: 'old' }),
      event(3, 'step.retried', 'a', 1), event(4, 'step.started', 'a', 2),
      event(5, 'step.output', 'a', 2, { stream: 'stdout', data: 'he' }), event(6, 'step.output', 'a', 2, { stream: 'stderr', data: 'warn' }),
      event(7, 'step.output', 'b', 1, { stream: 'stdout', data: 'other' }), event(8, 'step.output', 'a', 2, { stream: 'stdout', data: 'llo' }),
    ];
    expect(liveOutput(events, 'a')).toEqual({ attempt: 2, stdout: 'hello', stderr: 'warn' });
    expect(liveOutput(events, 'zzz')).toBeNull();
  });
});
