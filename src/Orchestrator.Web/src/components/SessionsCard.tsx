import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { sessionsApi } from '../api/faces';
import { age } from '../lib/format';
import { useNow } from '../lib/useNow';
import { ConfirmButton } from './ConfirmButton';
import { ProblemView } from './ProblemView';
import { StatusBadge } from './StatusBadge';

/** The instance's persistent terminal sessions (tmux on the machine): start one, attach or watch, end one. */
export function SessionsCard({ instanceId }: { instanceId: string }) {
  const queries = useQueryClient();
  const now = useNow(5000);
  const sessions = useQuery({ queryKey: ['sessions', instanceId], queryFn: () => sessionsApi.list(instanceId), refetchInterval: 5000 });
  const [form, setForm] = useState({ name: '', command: '' });
  const refresh = () => void queries.invalidateQueries({ queryKey: ['sessions', instanceId] });
  const create = useMutation({
    mutationFn: () => sessionsApi.create(instanceId, { name: form.name.trim() || undefined, command: form.command.trim() || undefined }),
    onSuccess: () => { setForm({ name: '', command: '' }); refresh(); },
  });
  const remove = useMutation({ mutationFn: (sessionId: string) => sessionsApi.remove(instanceId, sessionId), onSuccess: refresh });

  return (
    <div className="card">
      <h2>Terminal sessions</h2>
      <p className="muted small">Sessions keep running with nobody attached; attach again later from here or from <code>orch ssh --session</code>.</p>
      <ProblemView error={sessions.error ?? remove.error} />
      {sessions.data?.items.length === 0 && <p className="empty">No sessions.</p>}
      {sessions.data && sessions.data.items.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead><tr><th>Name</th><th>Status</th><th>Command</th><th>Attached</th><th>Last activity</th><th><span className="sr-only">Actions</span></th></tr></thead>
            <tbody>
              {sessions.data.items.map((s) => (
                <tr key={s.id} data-session={s.id}>
                  <td>{s.name}</td>
                  <td><StatusBadge status={s.status} />{s.exit_code != null && <span className="muted small"> exit {s.exit_code}</span>}</td>
                  <td className="mono small">{s.command ?? 'login shell'}</td>
                  <td>{s.attached}</td>
                  <td>{age(s.last_activity_at, now)} ago</td>
                  <td>
                    {s.status === 'running' && (
                      <div className="row-actions">
                        <Link to={`/instances/${instanceId}/terminal?session=${encodeURIComponent(s.id)}`} aria-label={`Attach to ${s.name}`}>Attach</Link>
                        <Link to={`/instances/${instanceId}/terminal?session=${encodeURIComponent(s.id)}&mode=view`} aria-label={`Watch ${s.name}`}>Watch</Link>
                        <ConfirmButton label="End" danger question={`End session ${s.name}? Its processes are killed.`} onConfirm={() => remove.mutate(s.id)} />
                      </div>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <form className="inline-form" onSubmit={(e) => { e.preventDefault(); create.mutate(); }}>
        <label htmlFor="session-name" className="sr-only">Session name</label>
        <input id="session-name" placeholder="name (optional)" value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
        <label htmlFor="session-command" className="sr-only">Session command</label>
        <input id="session-command" className="mono" placeholder="command (default: login shell)" value={form.command} onChange={(e) => setForm({ ...form, command: e.target.value })} />
        <button type="submit" className="primary" disabled={create.isPending}>Start session</button>
      </form>
      <ProblemView error={create.error} />
    </div>
  );
}
