import { describe, expect, it } from 'vitest';
import type { Step } from '../api/types';
import { buildTimeline } from './timeline';

const step = (id: string, start: string | null, end: string | null): Step => ({
  id, uses: 'ssh.exec', status: end ? 'succeeded' : 'running', attempts: 1, started_at: start, ended_at: end, outputs: {}, error: null, in_finally: false,
});
const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();

describe('buildTimeline', () => {
  it('lays sequential steps on one lane in proportion', () => {
    const timeline = buildTimeline([step('a', t(0), t(10)), step('b', t(10), t(20))], Date.parse(t(30)));
    expect(timeline.bars.map((b) => [b.step.id, b.lane, b.offsetPercent, b.widthPercent])).toEqual([['a', 0, 0, 50], ['b', 0, 50, 50]]);
  });

  it('puts overlapping steps side by side', () => {
    const timeline = buildTimeline([step('a', t(0), t(10)), step('b', t(2), t(8)), step('c', t(9), t(10))], Date.parse(t(30)));
    expect(timeline.bars.map((b) => b.lane)).toEqual([0, 1, 1]);
  });

  it('runs a running step to now and leaves unstarted ones out', () => {
    const timeline = buildTimeline([step('a', t(0), null), step('b', null, null)], Date.parse(t(4)));
    expect(timeline.bars).toHaveLength(1);
    expect(timeline.bars[0]).toMatchObject({ running: true, widthPercent: 100 });
  });

  it('keeps an instant step visible', () => {
    const timeline = buildTimeline([step('a', t(0), t(100)), step('b', t(50), t(50))], 0);
    expect(timeline.bars[1]?.widthPercent).toBeGreaterThan(0);
  });
});
