import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { runsApi } from '../api/endpoints';
import type { RunEvent, Step } from '../api/types';
import { liveOutput } from '../lib/runEvents';
import { ProblemView } from './ProblemView';
import { StatusBadge } from './StatusBadge';

/** The selected step: live output from the event stream while it runs, the stored output once it ended. */
export function StepPanel({ runId, step, events }: { runId: string; step: Step; events: readonly RunEvent[] }) {
  const finished = step.ended_at !== null;
  const stored = useQuery({
    queryKey: ['step-output', runId, step.id, step.attempts],
    queryFn: () => runsApi.stepOutput(runId, step.id),
    enabled: finished && (step.uses === 'ssh.exec'),
    staleTime: Infinity,
  });
  const live = liveOutput(events, step.id);
  const stdout = finished ? stored.data?.stdout ?? live?.stdout ?? '' : live?.stdout ?? '';
  const stderr = finished ? stored.data?.stderr ?? live?.stderr ?? '' : live?.stderr ?? '';
  const outputs = step.outputs as Record<string, unknown> | null;
  const childRun = typeof outputs?.run_id === 'string' ? outputs.run_id : null;

  return (
    <div className="card" data-testid="step-panel">
      <h2><span className="mono">{step.id}</span> <StatusBadge status={step.status} /> <span className="muted small">{step.uses}, attempt {step.attempts}</span></h2>
      {step.error && <div className="problem" role="alert">{step.error}</div>}
      {childRun && <p>Child run: <Link className="mono" to={`/runs/${childRun}`}>{childRun}</Link></p>}
      <ProblemView error={stored.error} />
      {(stdout || !finished) && (
        <>
          <h3>Output{finished ? '' : ' (live)'}</h3>
          <pre className="output" data-testid="step-stdout" aria-live={finished ? 'off' : 'polite'}>{stdout}</pre>
        </>
      )}
      {stderr && (
        <>
          <h3>Standard error</h3>
          <pre className="output stderr" data-testid="step-stderr">{stderr}</pre>
        </>
      )}
      <h3>Step outputs</h3>
      <pre className="output">{JSON.stringify(step.outputs, null, 2)}</pre>
    </div>
  );
}
