import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { environmentsApi, gitApi } from '../api/faces';
import { ConfirmButton } from '../components/ConfirmButton';
import { Loading } from '../components/Loading';
import { ProblemView } from '../components/ProblemView';
import { StatusBadge } from '../components/StatusBadge';
import { describeBranch, shortState } from '../lib/git';

export function EnvironmentDetailPage() {
  const id = useParams().id ?? '';
  const navigate = useNavigate();
  const environment = useQuery({ queryKey: ['environment', id], queryFn: () => environmentsApi.get(id), refetchInterval: 3000 });
  const [keepVolume, setKeepVolume] = useState(false);
  const remove = useMutation({ mutationFn: () => environmentsApi.remove(id, keepVolume), onSuccess: () => void navigate('/environments') });
  const env = environment.data;

  return (
    <section>
      <p><Link to="/environments">← Environments</Link></p>
      <ProblemView error={environment.error} />
      {environment.isPending ? <Loading what="the environment" /> : env && (
        <>
          <div className="page-head">
            <h1>{env.name} <StatusBadge status={env.status} /></h1>
            <div className="actions">
              {env.status === 'ready' && <Link className="button" to={`/instances/${env.instance_id}/terminal`}>Open terminal</Link>}
              <ConfirmButton label="Delete" danger question={`Delete environment ${env.name}? Its instance is destroyed.`} onConfirm={() => remove.mutate()}>
                <label className="inline"><input type="checkbox" checked={keepVolume} onChange={(e) => setKeepVolume(e.target.checked)} /> Keep its volume</label>
              </ConfirmButton>
            </div>
          </div>
          <ProblemView error={remove.error} />
          {env.error && <div className="problem" role="alert">{env.error}</div>}
          <dl className="facts">
            <dt>Repository</dt><dd className="mono">{env.repo_url}</dd>
            <dt>Checkout</dt><dd className="mono">{env.path}</dd>
            <dt>Instance</dt><dd><Link to={`/instances/${env.instance_id}`}>{env.instance_id}</Link> {env.instance_state && <StatusBadge status={env.instance_state} />}</dd>
            <dt>Made by run</dt><dd><Link className="mono" to={`/runs/${env.run_id}`}>{env.run_id}</Link></dd>
            <dt>Sessions</dt><dd>{env.sessions.length === 0 ? 'none' : env.sessions.join(', ')}</dd>
          </dl>
          {env.status === 'ready' && <GitPanel id={id} />}
        </>
      )}
    </section>
  );
}

function GitPanel({ id }: { id: string }) {
  const queries = useQueryClient();
  const status = useQuery({ queryKey: ['git-status', id], queryFn: () => gitApi.status(id), refetchInterval: 10_000 });
  const log = useQuery({ queryKey: ['git-log', id], queryFn: () => gitApi.log(id) });
  const [showDiff, setShowDiff] = useState(false);
  const diff = useQuery({ queryKey: ['git-diff', id], queryFn: () => gitApi.diff(id, false), enabled: showDiff });
  const [message, setMessage] = useState('');
  const [branch, setBranch] = useState({ name: '', create: false });
  const [note, setNote] = useState<string | null>(null);
  const refresh = () => {
    for (const key of ['git-status', 'git-log', 'git-diff']) void queries.invalidateQueries({ queryKey: [key, id] });
  };
  const commit = useMutation({ mutationFn: () => gitApi.commit(id, message), onSuccess: (r) => { setNote(`Committed ${r.sha.slice(0, 7)}.`); setMessage(''); refresh(); } });
  const push = useMutation({ mutationFn: () => gitApi.push(id), onSuccess: (r) => { setNote(r.up_to_date ? 'Already up to date.' : `Pushed ${r.branch} to ${r.remote}.`); refresh(); } });
  const pull = useMutation({ mutationFn: () => gitApi.pull(id), onSuccess: (r) => { setNote(r.updated ? 'Pulled new commits.' : 'Nothing to pull.'); refresh(); } });
  const checkout = useMutation({ mutationFn: () => gitApi.checkout(id, branch.name.trim(), branch.create), onSuccess: () => { setNote(`On ${branch.name.trim()}.`); refresh(); } });
  const failure = commit.error ?? push.error ?? pull.error ?? checkout.error;

  return (
    <div className="card">
      <h2>Git</h2>
      <ProblemView error={status.error} />
      {status.data && (
        <>
          <p data-testid="git-branch"><strong>{describeBranch(status.data)}</strong> — {status.data.files.length === 0 ? 'clean' : `${status.data.files.length} changed`}</p>
          {status.data.files.length > 0 && (
            <table data-testid="git-files">
              <thead><tr><th>State</th><th>Path</th></tr></thead>
              <tbody>
                {status.data.files.map((f) => (
                  <tr key={f.path}><td className="mono">{shortState(f.index, f.worktree)}</td><td className="mono">{f.original_path ? `${f.original_path} → ${f.path}` : f.path}</td></tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
      {note && <p className="notice" role="status">{note}</p>}
      <ProblemView error={failure} />
      <form className="inline-form" onSubmit={(e) => { e.preventDefault(); commit.mutate(); }}>
        <label htmlFor="commit-message" className="sr-only">Commit message</label>
        <input id="commit-message" placeholder="Commit message (commits every change)" value={message} onChange={(e) => setMessage(e.target.value)} required />
        <button type="submit" className="primary" disabled={commit.isPending}>Commit</button>
      </form>
      <div className="actions">
        <button type="button" disabled={push.isPending} onClick={() => push.mutate()}>Push</button>
        <button type="button" disabled={pull.isPending} onClick={() => pull.mutate()}>Pull</button>
        <button type="button" onClick={() => setShowDiff((v) => !v)} aria-expanded={showDiff}>{showDiff ? 'Hide diff' : 'Show diff'}</button>
      </div>
      <form className="inline-form" onSubmit={(e) => { e.preventDefault(); checkout.mutate(); }}>
        <label htmlFor="checkout-branch" className="sr-only">Branch</label>
        <input id="checkout-branch" placeholder="branch" value={branch.name} onChange={(e) => setBranch({ ...branch, name: e.target.value })} required />
        <label className="inline"><input type="checkbox" checked={branch.create} onChange={(e) => setBranch({ ...branch, create: e.target.checked })} /> new</label>
        <button type="submit" disabled={checkout.isPending}>Check out</button>
      </form>
      {showDiff && (
        <>
          <ProblemView error={diff.error} />
          <pre className="output" data-testid="git-diff">{diff.data ? diff.data.text || '(no changes)' : 'Loading…'}{diff.data?.truncated ? '\n… (cut at 1 MiB)' : ''}</pre>
        </>
      )}
      <h3>Recent commits</h3>
      <ProblemView error={log.error} />
      <ol className="events" data-testid="git-log">
        {log.data?.commits.map((c) => (
          <li key={c.sha}><code>{c.sha.slice(0, 7)}</code> {c.subject} <span className="muted small">— {c.author.name}, {new Date(c.authored_at).toLocaleString()}</span></li>
        ))}
      </ol>
    </div>
  );
}
