import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useRef, useState } from 'react';
import { useOutletContext } from 'react-router';
import type { SignIn } from '../api/auth';
import { secretsApi } from '../api/endpoints';
import { ApiProblem } from '../api/problem';
import type { Secret } from '../api/types';
import { ConfirmButton } from '../components/ConfirmButton';
import { Loading } from '../components/Loading';
import { ProblemView } from '../components/ProblemView';
import { secretNameProblem, secretValueProblem } from '../lib/secrets';

/** The tenant's secrets: names and dates only, since the API never gives a value back. */
export function SecretsPage() {
  const signIn = useOutletContext<SignIn>();
  const list = useQuery({ queryKey: ['secrets'], queryFn: secretsApi.list, enabled: signIn.kind === 'tenant' });
  const [name, setName] = useState('');
  const valueInput = useRef<HTMLInputElement>(null);
  const queries = useQueryClient();
  const remove = useMutation({ mutationFn: secretsApi.remove, onSuccess: () => void queries.invalidateQueries({ queryKey: ['secrets'] }) });

  if (signIn.kind !== 'tenant') {
    return <section className="card narrow"><h1>Secrets</h1><p>Secrets belong to a tenant: sign out and sign in with a tenant's key.</p></section>;
  }

  const replace = (secret: Secret) => {
    setName(secret.name);
    valueInput.current?.focus();
  };

  return (
    <section>
      <div className="page-head"><h1>Secrets</h1></div>
      <p className="muted">
        Workflows read a secret as <code>{'${{ secrets.NAME }}'}</code>; an environment names the one holding its https token as its <code>git_credentials_secret</code>.
      </p>
      <ProblemView error={list.error ?? remove.error} />
      {list.isPending ? <Loading what="secrets" /> : list.data?.items.length === 0 ? (
        <p className="empty">No secrets yet: set one below.</p>
      ) : list.data && (
        <div className="table-wrap">
          <table>
            <thead><tr><th>Name</th><th>Created</th><th>Updated</th><th><span className="sr-only">Actions</span></th></tr></thead>
            <tbody>
              {list.data.items.map((secret) => (
                <tr key={secret.name} data-secret={secret.name}>
                  <td className="mono">{secret.name}</td>
                  <td><time dateTime={secret.created_at}>{new Date(secret.created_at).toLocaleString()}</time></td>
                  <td><time dateTime={secret.updated_at}>{new Date(secret.updated_at).toLocaleString()}</time></td>
                  <td>
                    <div className="row-actions">
                      <button type="button" aria-label={`Replace ${secret.name}`} onClick={() => replace(secret)}>Replace</button>
                      <ConfirmButton
                        label="Delete"
                        danger
                        question={`Delete secret ${secret.name}? Workflows and environments that name it fail from now on; runs already started keep the value they read.`}
                        onConfirm={() => remove.mutate(secret.name)}
                      />
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <SecretForm name={name} onName={setName} valueInput={valueInput} existing={list.data?.items ?? []} />
    </section>
  );
}

/**
 * Sets a secret. The value field is uncontrolled: the value lives in the password input until it is sent, never in
 * React state, the query cache or a mutation's variables, and the input is emptied once the API took it.
 */
function SecretForm(props: { name: string; onName: (name: string) => void; valueInput: React.RefObject<HTMLInputElement | null>; existing: readonly Secret[] }) {
  const queries = useQueryClient();
  const [valueHint, setValueHint] = useState<string | null>(null);
  const [done, setDone] = useState<{ name: string; created: boolean } | null>(null);
  const put = useMutation({
    mutationFn: (name: string) => secretsApi.put(name, props.valueInput.current?.value ?? ''),
    onSuccess: ({ secret, created }) => {
      if (props.valueInput.current) props.valueInput.current.value = '';
      setValueHint(null);
      props.onName('');
      setDone({ name: secret.name, created });
      void queries.invalidateQueries({ queryKey: ['secrets'] });
    },
  });

  const name = props.name.trim();
  const nameHint = name ? secretNameProblem(name) : null;
  const replacing = props.existing.some((secret) => secret.name === name);
  const problemField = put.error instanceof ApiProblem ? put.error.field : undefined;
  const clear = () => {
    if (props.valueInput.current) props.valueInput.current.value = '';
    setValueHint(null);
    props.onName('');
    put.reset();
  };
  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    setDone(null);
    // The hints only guide: the API's answer, with the field it names, is what counts.
    put.mutate(name);
  };

  return (
    <form className="card" onSubmit={submit} aria-labelledby="secret-form-title">
      <h2 id="secret-form-title">{replacing ? `Replace ${name}` : 'Set a secret'}</h2>
      <label htmlFor="secret-name">Name</label>
      <input
        id="secret-name"
        className="mono"
        required
        autoComplete="off"
        spellCheck={false}
        placeholder="GITHUB_TOKEN"
        value={props.name}
        onChange={(e) => props.onName(e.target.value)}
        aria-invalid={nameHint !== null || problemField === 'name'}
        aria-describedby="secret-name-hint"
      />
      <p id="secret-name-hint" className="muted small">
        {nameHint ? `The name ${nameHint}.` : 'Uppercase letters, digits and _, not starting with a digit.'}
      </p>
      <label htmlFor="secret-value">Value</label>
      <input
        id="secret-value"
        ref={props.valueInput}
        type="password"
        required
        autoComplete="new-password"
        spellCheck={false}
        onChange={(e) => setValueHint(e.target.value ? secretValueProblem(e.target.value) : null)}
        aria-invalid={valueHint !== null || problemField === 'value'}
        aria-describedby="secret-value-hint"
      />
      <p id="secret-value-hint" className="muted small">
        {valueHint ? `The value ${valueHint}.` : 'Write-only: it is never shown again, here or by the API.'}
      </p>
      <ProblemView error={put.error} />
      {done && <p className="notice" role="status">Secret <code>{done.name}</code> {done.created ? 'created' : 'replaced'}.</p>}
      <div className="actions">
        <button type="submit" className="primary" disabled={put.isPending}>{put.isPending ? 'Saving…' : replacing ? 'Replace' : 'Set secret'}</button>
        {props.name && <button type="button" onClick={clear}>Clear</button>}
      </div>
    </form>
  );
}
