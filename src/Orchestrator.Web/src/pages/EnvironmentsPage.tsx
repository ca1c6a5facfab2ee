import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { environmentsApi } from '../api/faces';
import type { CreateEnvironmentRequest } from '../api/types';
import { Loading } from '../components/Loading';
import { ProblemView } from '../components/ProblemView';
import { StatusBadge } from '../components/StatusBadge';
import { age } from '../lib/format';
import { useNow } from '../lib/useNow';
import { useModal } from '../components/useModal';

export function EnvironmentsPage() {
  const list = useQuery({ queryKey: ['environments'], queryFn: environmentsApi.list, refetchInterval: 3000 });
  const now = useNow(5000);
  return (
    <section>
      <div className="page-head">
        <h1>Environments</h1>
        <CreateEnvironmentDialog />
      </div>
      <ProblemView error={list.error} />
      {list.isPending ? <Loading what="environments" /> : list.data?.items.length === 0 ? (
        <p className="empty">No environments yet: create one from a git repository.</p>
      ) : (
        <div className="table-wrap">
          <table>
            <thead><tr><th>Name</th><th>Status</th><th>Repository</th><th>Branch</th><th>Instance</th><th>Age</th></tr></thead>
            <tbody>
              {list.data?.items.map((env) => (
                <tr key={env.id} data-environment={env.id}>
                  <td><Link to={`/environments/${env.id}`}>{env.name}</Link></td>
                  <td><StatusBadge status={env.status} /></td>
                  <td className="mono small">{env.repo_url}</td>
                  <td>{env.branch ?? '—'}</td>
                  <td>{env.instance_state ? <StatusBadge status={env.instance_state} /> : '—'}</td>
                  <td>{age(env.created_at, now)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function CreateEnvironmentDialog() {
  const [open, setOpen] = useState(false);
  const dialog = useModal(open);
  const [form, setForm] = useState({ name: '', repo_url: '', branch: '', region: 'iad', size: 'shared-cpu-1x', volumeGb: '', setup_command: '', secret: '' });
  const queries = useQueryClient();
  const create = useMutation({
    mutationFn: (request: CreateEnvironmentRequest) => environmentsApi.create(request),
    onSuccess: () => {
      void queries.invalidateQueries({ queryKey: ['environments'] });
      setOpen(false);
    },
  });

  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    const request: CreateEnvironmentRequest = { name: form.name.trim(), repo_url: form.repo_url.trim(), region: form.region.trim(), size: form.size };
    if (form.branch.trim()) request.branch = form.branch.trim();
    if (form.volumeGb) request.volume = { size_gb: Number(form.volumeGb) };
    if (form.setup_command.trim()) request.setup_command = form.setup_command;
    if (form.secret.trim()) request.git_credentials_secret = form.secret.trim();
    create.mutate(request);
  };
  const field = (name: keyof typeof form) => ({
    value: form[name],
    onChange: (e: React.ChangeEvent<HTMLInputElement | HTMLTextAreaElement>) => setForm({ ...form, [name]: e.target.value }),
  });

  return (
    <>
      <button type="button" className="primary" onClick={() => { create.reset(); setOpen(true); }}>Create environment</button>
      <dialog ref={dialog} onClose={() => setOpen(false)} aria-labelledby="create-env-title">
        <form onSubmit={submit}>
          <h2 id="create-env-title">Create environment</h2>
          <label htmlFor="ce-name">Name (the checkout's directory under /workspace)</label>
          <input id="ce-name" required maxLength={63} {...field('name')} />
          <label htmlFor="ce-repo">Repository URL</label>
          <input id="ce-repo" required placeholder="https://github.com/owner/repo.git" {...field('repo_url')} />
          <label htmlFor="ce-branch">Branch (default: the remote's)</label>
          <input id="ce-branch" {...field('branch')} />
          <label htmlFor="ce-region">Region</label>
          <input id="ce-region" required {...field('region')} />
          <label htmlFor="ce-size">Size</label>
          <input id="ce-size" required {...field('size')} />
          <label htmlFor="ce-volume">Volume at /workspace, GB (optional)</label>
          <input id="ce-volume" type="number" min={1} max={500} {...field('volumeGb')} />
          <label htmlFor="ce-setup">Setup command (run in the checkout)</label>
          <textarea id="ce-setup" className="mono" rows={2} {...field('setup_command')} />
          <label htmlFor="ce-secret">Secret with an https token (optional)</label>
          <input id="ce-secret" placeholder="GITHUB_TOKEN" {...field('secret')} />
          <ProblemView error={create.error} />
          <div className="actions">
            <button type="button" onClick={() => setOpen(false)}>Cancel</button>
            <button type="submit" className="primary" disabled={create.isPending}>{create.isPending ? 'Creating…' : 'Create'}</button>
          </div>
        </form>
      </dialog>
    </>
  );
}
