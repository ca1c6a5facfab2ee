import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { Link, useParams, useSearchParams } from 'react-router';
import { runsApi } from '../api/endpoints';
import { followRunEvents } from '../api/streams';
import type { Run, RunEvent } from '../api/types';
import { ConfirmButton } from '../components/ConfirmButton';
import { Loading } from '../components/Loading';
import { ProblemView } from '../components/ProblemView';
import { RunTimeline } from '../components/RunTimeline';
import { StatusBadge } from '../components/StatusBadge';
import { StepPanel } from '../components/StepPanel';
import { recordRunEvent, runEventsKey, runKey } from '../lib/runEvents';

const ended = new Set(['succeeded', 'failed', 'cancelled']);

export function RunDetailPage() {
  const id = useParams().id ?? '';
  const [params, setParams] = useSearchParams();
  const queries = useQueryClient();
  const run = useQuery({ queryKey: runKey(id), queryFn: () => runsApi.get(id), refetchInterval: (q) => (q.state.data && ended.has(q.state.data.status) ? false : 5000) });
  const events = useQuery<RunEvent[]>({ queryKey: runEventsKey(id), queryFn: () => [], staleTime: Infinity, gcTime: 60_000 });
  const [streamNote, setStreamNote] = useState<string | null>(null);
  const done = run.data ? ended.has(run.data.status) : false;

  useEffect(() => {
    if (!id || done) return;
    const controller = new AbortController();
    const last = queries.getQueryData<RunEvent[]>(runEventsKey(id))?.at(-1)?.sequence ?? 0;
    void followRunEvents(id, {
      fromSequence: last + 1,
      signal: controller.signal,
      onEvent: (event) => {
        setStreamNote(null);
        recordRunEvent(queries, id, event);
      },
      onEnd: () => void queries.invalidateQueries({ queryKey: runKey(id) }),
      onInterrupted: () => setStreamNote('The live stream dropped; reconnecting…'),
    }).catch((error: unknown) => setStreamNote(error instanceof Error ? error.message : String(error)));
    return () => controller.abort();
  }, [id, done, queries]);

  const selected = params.get('step') ?? run.data?.steps.find((s) => s.status === 'running' || s.status === 'failed')?.id ?? run.data?.steps[0]?.id ?? null;
  const step = run.data?.steps.find((s) => s.id === selected) ?? null;

  return (
    <section>
      <p><Link to="/runs">← Runs</Link></p>
      <ProblemView error={run.error} />
      {run.isPending ? <Loading what="the run" /> : run.data && (
        <>
          <div className="page-head">
            <h1 className="mono">{run.data.id} <StatusBadge status={run.data.status} /></h1>
            <RunActions run={run.data} />
          </div>
          <p>
            <Link to={`/workflows/${run.data.workflow}?version=${run.data.version}`}>{run.data.workflow}</Link> v{run.data.version}
            {' · '}started {new Date(run.data.created_at).toLocaleString()}
            {run.data.ended_at && ` · ended ${new Date(run.data.ended_at).toLocaleString()}`}
          </p>
          {run.data.error && <div className="problem" role="alert">{run.data.error}</div>}
          {streamNote && <p className="muted" role="status">{streamNote}</p>}
          <RunTimeline steps={run.data.steps} selected={selected} onSelect={(stepId) => setParams({ step: stepId }, { replace: true })} />
          {step && <StepPanel runId={id} step={step} events={events.data ?? []} />}
          <div className="columns">
            <div className="card">
              <h2>Inputs</h2>
              <pre className="output">{JSON.stringify(run.data.inputs, null, 2)}</pre>
            </div>
            <div className="card">
              <h2>Outputs</h2>
              <pre className="output">{JSON.stringify(run.data.outputs, null, 2)}</pre>
            </div>
          </div>
        </>
      )}
    </section>
  );
}

function RunActions({ run }: { run: Run }) {
  const queries = useQueryClient();
  const [signal, setSignal] = useState({ name: '', payload: '' });
  const [payloadError, setPayloadError] = useState<string | null>(null);
  const refresh = (updated: Run) => {
    queries.setQueryData(runKey(run.id), updated);
    void queries.invalidateQueries({ queryKey: ['runs'] });
  };
  const cancel = useMutation({ mutationFn: () => runsApi.cancel(run.id), onSuccess: refresh });
  const retry = useMutation({ mutationFn: () => runsApi.retry(run.id), onSuccess: refresh });
  const send = useMutation({ mutationFn: (payload: unknown) => runsApi.signal(run.id, signal.name.trim(), payload), onSuccess: refresh });
  const active = !ended.has(run.status);

  const sendSignal = () => {
    let payload: unknown = {};
    if (signal.payload.trim()) {
      try {
        payload = JSON.parse(signal.payload);
      } catch {
        setPayloadError('The payload must be JSON.');
        return;
      }
    }
    setPayloadError(null);
    send.mutate(payload);
  };

  return (
    <div className="actions">
      {active && <ConfirmButton label="Cancel run" danger question={`Cancel run ${run.id}? Its finally steps still run.`} onConfirm={() => cancel.mutate()} />}
      {(run.status === 'failed' || run.status === 'cancelled') && <button type="button" onClick={() => retry.mutate()}>Retry</button>}
      {active && (
        <ConfirmButton label="Signal" question="Send a signal to this run" confirmLabel="Send" onConfirm={sendSignal}>
          <label htmlFor="signal-name">Signal name</label>
          <input id="signal-name" value={signal.name} onChange={(e) => setSignal({ ...signal, name: e.target.value })} />
          <label htmlFor="signal-payload">Payload (JSON, optional)</label>
          <textarea id="signal-payload" className="mono" rows={3} value={signal.payload} onChange={(e) => setSignal({ ...signal, payload: e.target.value })} />
        </ConfirmButton>
      )}
      {payloadError && <div className="problem" role="alert">{payloadError}</div>}
      <ProblemView error={cancel.error ?? retry.error ?? send.error} />
    </div>
  );
}
