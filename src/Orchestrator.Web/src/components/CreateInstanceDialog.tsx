import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { instancesApi } from '../api/endpoints';
import type { CreateInstanceRequest } from '../api/types';
import { parseEnvLines } from '../lib/format';
import { ProblemView } from './ProblemView';
import { useModal } from './useModal';

const presets = ['shared-cpu-1x', 'shared-cpu-2x', 'shared-cpu-4x', 'performance-1x', 'performance-2x'];

export function CreateInstanceDialog() {
  const [open, setOpen] = useState(false);
  const dialog = useModal(open);
  const [form, setForm] = useState({ name: '', region: 'iad', size: 'shared-cpu-1x', volumeGb: '', volumePath: '/data', env: '' });
  const [formError, setFormError] = useState<string | null>(null);
  const queries = useQueryClient();
  const create = useMutation({
    mutationFn: (request: CreateInstanceRequest) => instancesApi.create(request),
    onSuccess: () => {
      void queries.invalidateQueries({ queryKey: ['instances'] });
      setOpen(false);
    },
  });


  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    const env = parseEnvLines(form.env);
    if ('error' in env) {
      setFormError(`Environment, ${env.error}`);
      return;
    }
    setFormError(null);
    const request: CreateInstanceRequest = { name: form.name.trim(), region: form.region.trim(), size: form.size };
    if (Object.keys(env.env).length > 0) request.env = env.env;
    if (form.volumeGb) request.volume = { size_gb: Number(form.volumeGb), path: form.volumePath };
    create.mutate(request);
  };

  const field = (name: keyof typeof form) => ({
    value: form[name],
    onChange: (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>) => setForm({ ...form, [name]: e.target.value }),
  });

  return (
    <>
      <button type="button" className="primary" onClick={() => { create.reset(); setOpen(true); }}>Create instance</button>
      <dialog ref={dialog} onClose={() => setOpen(false)} aria-labelledby="create-instance-title">
        <form onSubmit={submit}>
          <h2 id="create-instance-title">Create instance</h2>
          <label htmlFor="ci-name">Name</label>
          <input id="ci-name" required pattern="[a-z]([a-z0-9\-]*[a-z0-9])?" maxLength={63} {...field('name')} />
          <label htmlFor="ci-region">Region</label>
          <input id="ci-region" required {...field('region')} />
          <label htmlFor="ci-size">Size</label>
          <select id="ci-size" {...field('size')}>
            {presets.map((p) => <option key={p}>{p}</option>)}
          </select>
          <fieldset>
            <legend>Volume (optional)</legend>
            <label htmlFor="ci-volume-gb">Size in GB</label>
            <input id="ci-volume-gb" type="number" min={1} max={500} {...field('volumeGb')} />
            <label htmlFor="ci-volume-path">Mount path</label>
            <input id="ci-volume-path" {...field('volumePath')} />
          </fieldset>
          <label htmlFor="ci-env">Environment (KEY=VALUE per line)</label>
          <textarea id="ci-env" rows={3} {...field('env')} />
          {formError && <div className="problem" role="alert">{formError}</div>}
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
