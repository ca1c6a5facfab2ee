import { useQuery } from '@tanstack/react-query';
import { Link, useParams } from 'react-router';
import { instancesApi } from '../api/endpoints';
import { ExecBox } from '../components/ExecBox';
import { FilesCard } from '../components/FilesCard';
import { InstanceActions } from '../components/InstanceActions';
import { Loading } from '../components/Loading';
import { ProblemView } from '../components/ProblemView';
import { SessionsCard } from '../components/SessionsCard';
import { StatusBadge } from '../components/StatusBadge';

export function InstanceDetailPage() {
  const id = useParams().id ?? '';
  const instance = useQuery({ queryKey: ['instance', id], queryFn: () => instancesApi.get(id), refetchInterval: 3000 });
  // The events of an instance that could not be read would fail the same way: asked for once the instance is shown.
  const events = useQuery({ queryKey: ['instance-events', id], queryFn: () => instancesApi.events(id), refetchInterval: 5000, enabled: instance.isSuccess });
  const view = instance.data;

  return (
    <section>
      <p><Link to="/instances">← Instances</Link></p>
      <ProblemView error={instance.error} />
      {instance.isPending ? <Loading what="the instance" /> : view && (
        <>
          <div className="page-head">
            <h1>{view.name} <StatusBadge status={view.state} /></h1>
            {view.state === 'started' && <Link className="button" to={`/instances/${id}/terminal`}>Open terminal</Link>}
          </div>
          <InstanceActions instance={view} />
          {view.last_error && (
            <div className="problem" role="alert">
              <strong>{view.last_error.code}</strong> {view.last_error.message}
            </div>
          )}
          <dl className="facts">
            <dt>Region</dt><dd>{view.region}</dd>
            <dt>Size</dt><dd>{view.size.preset ?? `${view.size.cpus} ${view.size.cpu_kind} CPU, ${view.size.memory_mb} MB`}</dd>
            <dt>Machine</dt><dd className="mono">{view.machine_id ?? '—'}</dd>
            <dt>Private IP</dt><dd className="mono">{view.private_ip ?? '—'}</dd>
            <dt>Volume</dt><dd>{view.volume_id ? `${view.volume_id} (${view.volume_size_gb} GB at ${view.volume_path})` : 'none'}</dd>
            <dt>Host key</dt><dd className="mono small">{view.ssh_host_key_fingerprint ?? '—'}</dd>
            <dt>Created</dt><dd>{new Date(view.created_at).toLocaleString()}</dd>
          </dl>
          {view.state === 'started' && <ExecBox instanceId={id} />}
          {view.state === 'started' && <SessionsCard instanceId={id} />}
          {view.state === 'started' && <FilesCard instanceId={id} />}
        </>
      )}
      {view && (
        <>
          <h2>Events</h2>
          <ProblemView error={events.error} />
          {events.data && events.data.items.length === 0 && <p className="empty">No events yet.</p>}
          <ol className="events">
            {events.data?.items.map((event) => (
              <li key={event.sequence}>
                <time dateTime={event.at}>{new Date(event.at).toLocaleTimeString()}</time> <strong>{event.kind}</strong> {event.message}
              </li>
            ))}
          </ol>
        </>
      )}
    </section>
  );
}
