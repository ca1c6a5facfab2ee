import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useMemo, useState } from 'react';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import { workflowsApi } from '../api/endpoints';
import { ApiProblem } from '../api/problem';
import { Loading } from '../components/Loading';
import { ProblemView } from '../components/ProblemView';
import { StartRunForm } from '../components/StartRunForm';
import { YamlEditor } from '../components/YamlEditor';
import { readInputs } from '../lib/workflowInputs';

const template = `name: hello
description: Says hello on a new machine
inputs:
  greeting: { type: string, default: hello }
steps:
  - id: box
    uses: instance.create
    with: { name: "hello-\${{ run.id }}", region: iad, size: shared-cpu-1x }
  - id: say
    uses: ssh.exec
    with: { instance: "\${{ steps.box.outputs.id }}", command: "echo \${{ inputs.greeting }}" }
  - id: cleanup
    uses: instance.destroy
    with: { instance: "\${{ steps.box.outputs.id }}" }
`;

export default function WorkflowDetailPage() {
  const rawName = useParams().name ?? '';
  const isNew = rawName === '~new';
  const name = isNew ? '' : rawName;
  const [params, setParams] = useSearchParams();
  const navigate = useNavigate();
  const queries = useQueryClient();
  const workflow = useQuery({ queryKey: ['workflow', name], queryFn: () => workflowsApi.get(name), enabled: !isNew });
  const selected = Number(params.get('version') ?? workflow.data?.latest_version ?? 0);
  const version = useQuery({
    queryKey: ['workflow', name, selected],
    queryFn: () => workflowsApi.version(name, selected),
    enabled: !isNew && selected > 0,
  });
  const [text, setText] = useState(isNew ? template : '');
  useEffect(() => {
    if (version.data?.source != null) setText(version.data.source);
  }, [version.data?.source]);

  const register = useMutation({
    mutationFn: (yamlText: string) => workflowsApi.register(yamlText),
    onSuccess: (registered) => {
      void queries.invalidateQueries({ queryKey: ['workflows'] });
      void queries.invalidateQueries({ queryKey: ['workflow', registered.name] });
      void navigate(`/workflows/${registered.name}?version=${registered.version}`);
    },
  });
  const errors = register.error instanceof ApiProblem ? register.error.errors : [];
  const inputs = useMemo(() => readInputs(version.data?.source ?? ''), [version.data?.source]);

  return (
    <section>
      <p><Link to="/workflows">← Workflows</Link></p>
      <div className="page-head">
        <h1>{isNew ? 'Register a workflow' : name}</h1>
        {workflow.data?.built_in && <span className="badge badge-idle">built in</span>}
      </div>
      <ProblemView error={workflow.error ?? version.error} />
      {!isNew && workflow.isPending && <Loading what="the workflow" />}
      {workflow.data?.description && <p>{workflow.data.description}</p>}
      {workflow.data && (
        <div className="filters">
          <label>
            Version
            <select value={selected} onChange={(e) => setParams({ version: e.target.value }, { replace: true })}>
              {[...workflow.data.versions].reverse().map((v) => (
                <option key={v.version} value={v.version}>v{v.version} — {new Date(v.created_at).toLocaleString()}</option>
              ))}
            </select>
          </label>
        </div>
      )}
      {!workflow.data?.built_in && (
        <div className="card">
          <h2>{isNew ? 'Definition' : 'Definition (edit and register as a new version)'}</h2>
          <YamlEditor value={text} onChange={setText} errors={errors} label="Workflow definition (YAML)" />
          {errors.length > 0 && (
            <div className="problem-list" role="alert">
              <strong>{errors.length === 1 ? 'The definition has an error' : `The definition has ${errors.length} errors`}</strong>
              <ul>
                {errors.map((e, i) => <li key={i} data-testid="workflow-error">line {e.line}, column {e.column}: {e.path}: {e.message}</li>)}
              </ul>
            </div>
          )}
          {register.error && errors.length === 0 && <ProblemView error={register.error} />}
          <div className="actions">
            <button type="button" className="primary" disabled={register.isPending} onClick={() => register.mutate(text)}>
              {register.isPending ? 'Registering…' : 'Register'}
            </button>
          </div>
        </div>
      )}
      {workflow.data?.built_in && version.data?.source != null && <pre className="output">{version.data.source}</pre>}
      {!isNew && version.data && <StartRunForm workflow={name} version={selected} inputs={inputs} />}
    </section>
  );
}
