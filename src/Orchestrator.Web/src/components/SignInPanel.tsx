import { useState } from 'react';
import { saveSignIn, tenantOfKey, type SignIn } from '../api/auth';
import { ApiProblem, problemFrom } from '../api/problem';
import { ProblemView } from './ProblemView';

/** Asks for an API key and checks it against the API before keeping it (in this tab's sessionStorage only). */
export function SignInPanel({ onSignedIn }: { onSignedIn: (signIn: SignIn) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const trimmed = key.trim();
      const response = await fetch('/api/version', { headers: { Authorization: `Bearer ${trimmed}`, Accept: 'application/json' } });
      if (!response.ok) throw await problemFrom(response);
      const tenant = tenantOfKey(trimmed);
      const signIn: SignIn = tenant ? { key: trimmed, kind: 'tenant', label: tenant } : trimmed === 'dev-key'
        ? { key: trimmed, kind: 'tenant', label: 'dev' } : { key: trimmed, kind: 'admin', label: 'admin' };
      saveSignIn(signIn);
      onSignedIn(signIn);
    } catch (caught) {
      setError(caught instanceof ApiProblem ? caught : new ApiProblem({ status: 0, title: 'The server could not be reached', detail: String(caught) }));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="card narrow">
      <h1>Sign in</h1>
      <p className="muted">Paste a tenant API key, or the admin key to manage tenants. It is kept in this tab only.</p>
      <form onSubmit={(e) => void submit(e)}>
        <label htmlFor="api-key">API key</label>
        <input id="api-key" type="password" autoComplete="off" value={key} onChange={(e) => setKey(e.target.value)} required />
        <div className="actions">
          <button type="submit" className="primary" disabled={busy || key.trim() === ''}>Sign in</button>
        </div>
      </form>
      <ProblemView error={error} />
    </section>
  );
}
