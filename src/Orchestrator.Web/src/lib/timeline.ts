import type { Step } from '../api/types';

/** One step's bar on the run's time axis, in percent of the axis. */
export interface TimelineBar {
  readonly step: Step;
  readonly offsetPercent: number;
  readonly widthPercent: number;
  /** Row in the chart: steps whose times overlap (parallel branches) get rows of their own. */
  readonly lane: number;
  readonly running: boolean;
}

export interface Timeline {
  readonly startMs: number;
  readonly endMs: number;
  readonly bars: readonly TimelineBar[];
}

// A bar is never thinner than this, so an instant step stays visible and clickable.
const minimumWidthPercent = 0.75;

/**
 * Lays the run's steps out on one axis from the first start to the last end (or `nowMs` while steps run). Steps
 * not started yet are left out; overlapping steps go to separate lanes, each in the first lane free at its start.
 */
export function buildTimeline(steps: readonly Step[], nowMs: number): Timeline {
  const started = steps
    .filter((step) => step.started_at)
    .map((step) => ({
      step,
      start: Date.parse(step.started_at as string),
      end: step.ended_at ? Date.parse(step.ended_at) : nowMs,
      running: !step.ended_at,
    }))
    .sort((a, b) => a.start - b.start || a.step.id.localeCompare(b.step.id));
  if (started.length === 0) return { startMs: nowMs, endMs: nowMs, bars: [] };

  const startMs = Math.min(...started.map((s) => s.start));
  const endMs = Math.max(startMs + 1, ...started.map((s) => s.end));
  const span = endMs - startMs;
  const laneEnds: number[] = [];
  const bars = started.map(({ step, start, end, running }) => {
    let lane = laneEnds.findIndex((laneEnd) => laneEnd <= start);
    if (lane < 0) {
      lane = laneEnds.length;
      laneEnds.push(end);
    } else {
      laneEnds[lane] = end;
    }
    const offsetPercent = ((start - startMs) / span) * 100;
    const widthPercent = Math.max(minimumWidthPercent, Math.min(100 - offsetPercent, ((end - start) / span) * 100));
    return { step, offsetPercent, widthPercent, lane, running };
  });
  return { startMs, endMs, bars };
}
