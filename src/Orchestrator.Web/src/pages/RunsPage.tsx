import { useQuery } from '@tanstack/react-query';
import { Link, useSearchParams } from 'react-router';
import { runsApi } from '../api/endpoints';
import type { RunStatus } from '../api/types';
import { Loading } from '../components/Loading';
import { ProblemView } from '../components/ProblemView';
import { StatusBadge } from '../components/StatusBadge';
import { age } from '../lib/format';
import { useNow } from '../lib/useNow';

const statuses: RunStatus[] = ['pending', 'running', 'waiting', 'succeeded', 'failed', 'cancelled'];

export function RunsPage() {
  const [params, setParams] = useSearchParams();
  const status = (params.get('status') ?? '') as RunStatus | '';
  const workflow = params.get('workflow') ?? '';
  const cursor = params.get('cursor') ?? '';
  const now = useNow(5000);
  const list = useQuery({
    queryKey: ['runs', { status, workflow, cursor }],
    queryFn: () => runsApi.list({ status: status || undefined, workflow: workflow || undefined, cursor: cursor || undefined }),
    refetchInterval: 3000,
  });
  const set = (changes: Record<string, string>) => {
    const next = new URLSearchParams(params);
    for (const [name, value] of Object.entries(changes)) {
      if (value) next.set(name, value);
      else next.delete(name);
    }
    setParams(next, { replace: 'cursor' in changes ? false : true });
  };

  return (
    <section>
      <div className="page-head"><h1>Runs</h1></div>
      <div className="filters">
        <label>
          Status
          <select value={status} onChange={(e) => set({ status: e.target.value, cursor: '' })}>
            <option value="">any</option>
            {statuses.map((s) => <option key={s}>{s}</option>)}
          </select>
        </label>
        <label>
          Workflow
          <input value={workflow} onChange={(e) => set({ workflow: e.target.value.trim(), cursor: '' })} placeholder="any" size={14} />
        </label>
      </div>
      <ProblemView error={list.error} />
      {list.isPending ? <Loading what="runs" /> : list.data?.items.length === 0 ? <p className="empty">No runs{status || workflow ? ' match these filters' : ' yet'}.</p> : (
        <div className="table-wrap">
          <table>
            <thead><tr><th>Run</th><th>Workflow</th><th>Status</th><th>Started</th><th>Updated</th></tr></thead>
            <tbody>
              {list.data?.items.map((run) => (
                <tr key={run.id}>
                  <td><Link className="mono" to={`/runs/${run.id}`}>{run.id}</Link></td>
                  <td><Link to={`/workflows/${run.workflow}?version=${run.version}`}>{run.workflow}</Link> v{run.version}</td>
                  <td><StatusBadge status={run.status} /></td>
                  <td>{age(run.created_at, now)} ago</td>
                  <td>{age(run.updated_at, now)} ago</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div className="actions">
        {cursor && <button type="button" onClick={() => set({ cursor: '' })}>First page</button>}
        {list.data?.next_cursor && <button type="button" onClick={() => set({ cursor: list.data.next_cursor ?? '' })}>Next page</button>}
      </div>
    </section>
  );
}
