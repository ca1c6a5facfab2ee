import { useQuery } from '@tanstack/react-query';
import { Link, useSearchParams } from 'react-router';
import { instancesApi } from '../api/endpoints';
import { CreateInstanceDialog } from '../components/CreateInstanceDialog';
import { InstanceActions } from '../components/InstanceActions';
import { Loading } from '../components/Loading';
import { ProblemView } from '../components/ProblemView';
import { StatusBadge } from '../components/StatusBadge';
import { age } from '../lib/format';
import { useNow } from '../lib/useNow';

const states = ['', 'creating', 'started', 'stopped', 'failed', 'destroyed'];

export function InstancesPage() {
  const [params, setParams] = useSearchParams();
  const state = params.get('state') ?? '';
  const region = params.get('region') ?? '';
  const now = useNow(5000);
  const list = useQuery({
    queryKey: ['instances', { state, region }],
    queryFn: () => instancesApi.list({ state, region }),
    refetchInterval: 3000,
  });

  const setFilter = (name: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(name, value);
    else next.delete(name);
    setParams(next, { replace: true });
  };

  return (
    <section>
      <div className="page-head">
        <h1>Instances</h1>
        <CreateInstanceDialog />
      </div>
      <div className="filters">
        <label>
          State
          <select value={state} onChange={(e) => setFilter('state', e.target.value)}>
            {states.map((s) => <option key={s} value={s}>{s || 'any'}</option>)}
          </select>
        </label>
        <label>
          Region
          <input value={region} onChange={(e) => setFilter('region', e.target.value.trim())} placeholder="any" size={6} />
        </label>
      </div>
      <ProblemView error={list.error} />
      {list.isPending ? <Loading what="instances" /> : list.data && list.data.items.length === 0 ? (
        <p className="empty">No instances{state || region ? ' match these filters' : ' yet: create one'}.</p>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr><th>Name</th><th>State</th><th>Region</th><th>Size</th><th>IPs</th><th>Age</th><th><span className="sr-only">Actions</span></th></tr>
            </thead>
            <tbody>
              {list.data?.items.map((instance) => (
                <tr key={instance.id} data-instance={instance.id}>
                  <td><Link to={`/instances/${instance.id}`}>{instance.name}</Link></td>
                  <td><StatusBadge status={instance.state} /></td>
                  <td>{instance.region}</td>
                  <td>{instance.size.preset ?? `${instance.size.cpus}x ${instance.size.cpu_kind} ${instance.size.memory_mb} MB`}</td>
                  <td className="mono small">{instance.private_ip ?? '—'}</td>
                  <td>{age(instance.created_at, now)}</td>
                  <td><InstanceActions instance={instance} compact /></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
