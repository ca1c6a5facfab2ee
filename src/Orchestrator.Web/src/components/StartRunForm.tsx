import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { useNavigate } from 'react-router';
import { runsApi } from '../api/endpoints';
import { coerceInputs } from '../lib/format';
import { defaultText, type InputSpec } from '../lib/workflowInputs';
import { ProblemView } from './ProblemView';

/** A form generated from the workflow's inputs: a field per input by type, secret inputs as password fields. */
export function StartRunForm({ workflow, version, inputs }: { workflow: string; version: number; inputs: Record<string, InputSpec> }) {
  const navigate = useNavigate();
  const [fields, setFields] = useState<Record<string, string>>(() =>
    Object.fromEntries(Object.entries(inputs).map(([name, spec]) => [name, defaultText(spec)])));
  const [formError, setFormError] = useState<{ error: string; field: string } | null>(null);
  const start = useMutation({
    mutationFn: (values: Record<string, unknown>) => runsApi.start({ workflow, version, inputs: values }),
    onSuccess: (run) => void navigate(`/runs/${run.id}`),
  });

  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    const result = coerceInputs(fields, inputs);
    if ('error' in result) {
      setFormError(result);
      return;
    }
    setFormError(null);
    start.mutate(result.inputs);
  };

  return (
    <form className="card" onSubmit={submit} aria-labelledby="start-run-title">
      <h2 id="start-run-title">Start a run of v{version}</h2>
      {Object.keys(inputs).length === 0 && <p className="muted">This workflow takes no inputs.</p>}
      {Object.entries(inputs).map(([name, spec]) => {
        const id = `input-${name}`;
        const value = fields[name] ?? '';
        const set = (next: string) => setFields({ ...fields, [name]: next });
        return (
          <div key={name} className="field">
            <label htmlFor={id}>{name}{spec.required ? ' *' : ''} <span className="muted small">({spec.type}{spec.secret ? ', secret' : ''})</span></label>
            {spec.type === 'boolean' ? (
              <select id={id} value={value} onChange={(e) => set(e.target.value)}>
                <option value="">(default)</option><option value="true">true</option><option value="false">false</option>
              </select>
            ) : spec.type === 'object' ? (
              <textarea id={id} className="mono" rows={3} value={value} onChange={(e) => set(e.target.value)} />
            ) : (
              <input id={id} type={spec.secret ? 'password' : spec.type === 'number' ? 'number' : 'text'} autoComplete="off"
                value={value} onChange={(e) => set(e.target.value)} aria-invalid={formError?.field === name} />
            )}
            {spec.description && <div className="muted small">{spec.description}</div>}
          </div>
        );
      })}
      {formError && <div className="problem" role="alert">{formError.error}</div>}
      <ProblemView error={start.error} />
      <div className="actions">
        <button type="submit" className="primary" disabled={start.isPending}>{start.isPending ? 'Starting…' : 'Start run'}</button>
      </div>
    </form>
  );
}
