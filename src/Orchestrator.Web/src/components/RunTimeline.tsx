import type { Step } from '../api/types';
import { formatDuration } from '../lib/format';
import { buildTimeline } from '../lib/timeline';
import { useNow } from '../lib/useNow';
import { StatusBadge } from './StatusBadge';

/** The run's steps as bars on one time axis; overlapping (parallel) steps side by side in lanes. */
export function RunTimeline({ steps, selected, onSelect }: { steps: readonly Step[]; selected: string | null; onSelect: (id: string) => void }) {
  const now = useNow(1000);
  const timeline = buildTimeline(steps, now);
  const waiting = steps.filter((s) => !s.started_at);
  return (
    <div className="card">
      <h2>Timeline <span className="muted small">{formatDuration(timeline.endMs - timeline.startMs)}</span></h2>
      <ol className="timeline" aria-label="Steps">
        {timeline.bars.map((bar) => {
          const end = bar.step.ended_at ? Date.parse(bar.step.ended_at) : now;
          return (
            <li key={bar.step.id} className="timeline-row" style={{ paddingLeft: `${bar.lane * 0.75}rem` }}>
              <button type="button" className={`timeline-label${bar.step.id === selected ? ' selected' : ''}`} onClick={() => onSelect(bar.step.id)}
                aria-pressed={bar.step.id === selected} data-step={bar.step.id}>
                <span className="mono">{bar.step.id}</span> <StatusBadge status={bar.step.status} />
                {bar.step.attempts > 1 && <span className="muted small"> attempt {bar.step.attempts}</span>}
              </button>
              <div className="timeline-track" aria-hidden="true">
                <div className={`timeline-bar bar-${bar.step.status}${bar.running ? ' running' : ''}`}
                  style={{ left: `${bar.offsetPercent}%`, width: `${bar.widthPercent}%` }} />
              </div>
              <span className="muted small timeline-duration">{formatDuration(end - Date.parse(bar.step.started_at as string))}</span>
            </li>
          );
        })}
        {waiting.map((step) => (
          <li key={step.id} className="timeline-row">
            <button type="button" className={`timeline-label${step.id === selected ? ' selected' : ''}`} onClick={() => onSelect(step.id)} data-step={step.id}>
              <span className="mono">{step.id}</span> <StatusBadge status={step.status} />
            </button>
            <div className="timeline-track" aria-hidden="true" />
            <span className="muted small timeline-duration">—</span>
          </li>
        ))}
      </ol>
    </div>
  );
}
