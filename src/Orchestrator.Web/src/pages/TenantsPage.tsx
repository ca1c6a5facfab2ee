import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useOutletContext, useSearchParams } from 'react-router';
import type { SignIn } from '../api/auth';
import { tenantsApi } from '../api/endpoints';
import type { CreatedKey, Tenant } from '../api/types';
import { ConfirmButton } from '../components/ConfirmButton';
import { Loading } from '../components/Loading';
import { ProblemView } from '../components/ProblemView';
import { StatusBadge } from '../components/StatusBadge';

/** Tenants, their quotas and keys: the admin key's page. A tenant opens from the list, or by id. */
export function TenantsPage() {
  const signIn = useOutletContext<SignIn>();
  const [params, setParams] = useSearchParams();
  const id = params.get('id') ?? '';
  const cursor = params.get('cursor') ?? '';
  const [lookup, setLookup] = useState(id);
  const [newTenant, setNewTenant] = useState({ id: '', name: '' });
  const queries = useQueryClient();
  const create = useMutation({
    mutationFn: () => tenantsApi.create(newTenant.id.trim(), newTenant.name.trim()),
    onSuccess: (tenant) => {
      queries.setQueryData(['tenant', tenant.id], tenant);
      void queries.invalidateQueries({ queryKey: ['tenants'] });
      setParams({ id: tenant.id });
      setLookup(tenant.id);
    },
  });

  if (signIn.kind !== 'admin') {
    return <section className="card narrow"><h1>Tenants</h1><p>This page needs the admin key: sign out and sign in with it.</p></section>;
  }

  return (
    <section>
      <div className="page-head"><h1>Tenants</h1></div>
      <div className="columns">
        <form className="card" onSubmit={(e) => { e.preventDefault(); setParams(lookup.trim() ? { id: lookup.trim() } : {}); }}>
          <h2>Open a tenant</h2>
          <label htmlFor="tenant-lookup">Tenant id</label>
          <input id="tenant-lookup" value={lookup} onChange={(e) => setLookup(e.target.value)} required />
          <div className="actions"><button type="submit" className="primary">Open</button></div>
        </form>
        <form className="card" onSubmit={(e) => { e.preventDefault(); create.mutate(); }}>
          <h2>Create a tenant</h2>
          <label htmlFor="tenant-id">Id</label>
          <input id="tenant-id" required pattern="[a-z](-?[a-z0-9])*" maxLength={40} value={newTenant.id} onChange={(e) => setNewTenant({ ...newTenant, id: e.target.value })} />
          <label htmlFor="tenant-name">Display name</label>
          <input id="tenant-name" maxLength={200} value={newTenant.name} onChange={(e) => setNewTenant({ ...newTenant, name: e.target.value })} />
          <ProblemView error={create.error} />
          <div className="actions"><button type="submit" className="primary" disabled={create.isPending}>Create</button></div>
        </form>
      </div>
      {id && <TenantView id={id} />}
      <TenantList cursor={cursor} selected={id} onPage={(next) => setParams({ ...(id ? { id } : {}), ...(next ? { cursor: next } : {}) })} />
    </section>
  );
}

/** Every tenant, a page at a time by id (the cursor is in the URL, as on the runs page); a row opens the tenant. */
function TenantList({ cursor, selected, onPage }: { cursor: string; selected: string; onPage: (cursor: string) => void }) {
  const list = useQuery({ queryKey: ['tenants', { cursor }], queryFn: () => tenantsApi.list(cursor || undefined) });
  const open = (id: string) => `?${new URLSearchParams({ id, ...(cursor ? { cursor } : {}) }).toString()}`;
  return (
    <div className="card">
      <h2>All tenants</h2>
      <ProblemView error={list.error} />
      {list.isPending ? <Loading what="tenants" /> : list.data?.items.length === 0 ? <p className="empty">{cursor ? 'No more tenants.' : 'No tenants yet: create one above.'}</p> : list.data && (
        <div className="table-wrap">
          <table aria-label="Tenants">
            <thead><tr><th>Id</th><th>Display name</th><th>Created</th></tr></thead>
            <tbody>
              {list.data.items.map((tenant) => (
                <tr key={tenant.id} aria-current={tenant.id === selected ? 'true' : undefined}>
                  <td><Link className="mono" to={open(tenant.id)}>{tenant.id}</Link></td>
                  <td>{tenant.display_name}</td>
                  <td>{new Date(tenant.created_at).toLocaleString()}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div className="actions">
        {cursor && <button type="button" onClick={() => onPage('')}>First page</button>}
        {list.data?.next_cursor && <button type="button" onClick={() => onPage(list.data.next_cursor ?? '')}>Next page</button>}
      </div>
    </div>
  );
}

function TenantView({ id }: { id: string }) {
  const tenant = useQuery({ queryKey: ['tenant', id], queryFn: () => tenantsApi.get(id) });
  const keys = useQuery({ queryKey: ['tenant-keys', id], queryFn: () => tenantsApi.keys(id) });
  return (
    <>
      <ProblemView error={tenant.error} />
      {tenant.isPending ? <Loading what="the tenant" /> : tenant.data && (
        <div className="card">
          <h2>{tenant.data.display_name} <span className="muted mono small">{tenant.data.id}</span></h2>
          <QuotasForm tenant={tenant.data} />
        </div>
      )}
      {tenant.data && <KeysCard id={id} keys={keys.data?.items ?? []} error={keys.error} />}
    </>
  );
}

function QuotasForm({ tenant }: { tenant: Tenant }) {
  const queries = useQueryClient();
  const text = (value: number | null) => (value === null ? '' : String(value));
  const [values, setValues] = useState({
    max_instances: text(tenant.quotas.max_instances), max_concurrent_runs: text(tenant.quotas.max_concurrent_runs), max_run_depth: text(tenant.quotas.max_run_depth),
  });
  const save = useMutation({
    mutationFn: () => tenantsApi.setQuotas(tenant.id, Object.fromEntries(Object.entries(values).filter(([, v]) => v !== '').map(([k, v]) => [k, Number(v)]))),
    onSuccess: (updated) => queries.setQueryData(['tenant', tenant.id], updated),
  });
  return (
    <form onSubmit={(e) => { e.preventDefault(); save.mutate(); }}>
      <h3>Quotas <span className="muted small">(empty: the cluster's default)</span></h3>
      <div className="quota-grid">
        {(Object.keys(values) as (keyof typeof values)[]).map((name) => (
          <div key={name} className="field">
            <label htmlFor={`quota-${name}`}>{name.replaceAll('_', ' ')}</label>
            <input id={`quota-${name}`} type="number" min={0} value={values[name]} onChange={(e) => setValues({ ...values, [name]: e.target.value })} />
          </div>
        ))}
      </div>
      <ProblemView error={save.error} />
      <div className="actions"><button type="submit" disabled={save.isPending}>Save quotas</button></div>
    </form>
  );
}

function KeysCard({ id, keys, error }: { id: string; keys: readonly import('../api/types').ApiKey[]; error: unknown }) {
  const queries = useQueryClient();
  const [name, setName] = useState('');
  const [created, setCreated] = useState<CreatedKey | null>(null);
  const refresh = () => void queries.invalidateQueries({ queryKey: ['tenant-keys', id] });
  const create = useMutation({ mutationFn: () => tenantsApi.createKey(id, name.trim() || 'default'), onSuccess: (key) => { setCreated(key); setName(''); refresh(); } });
  const revoke = useMutation({ mutationFn: (keyId: string) => tenantsApi.revokeKey(id, keyId), onSuccess: refresh });
  return (
    <div className="card">
      <h2>API keys</h2>
      <ProblemView error={error ?? revoke.error} />
      {created && (
        <div className="notice" role="status">
          <p>The new key, shown this once. Copy it now:</p>
          <code className="secret" data-testid="new-key">{created.key}</code>
          <div className="actions">
            <button type="button" onClick={() => void navigator.clipboard?.writeText(created.key)}>Copy</button>
            <button type="button" onClick={() => setCreated(null)}>Done</button>
          </div>
        </div>
      )}
      {keys.length === 0 ? <p className="empty">No keys.</p> : (
        <div className="table-wrap">
          <table>
            <thead><tr><th>Name</th><th>Prefix</th><th>Status</th><th>Created</th><th>Expires</th><th><span className="sr-only">Actions</span></th></tr></thead>
            <tbody>
              {keys.map((key) => (
                <tr key={key.id}>
                  <td>{key.name}</td><td className="mono small">{key.prefix}</td><td><StatusBadge status={key.status} /></td>
                  <td>{new Date(key.created_at).toLocaleDateString()}</td><td>{key.expires_at ? new Date(key.expires_at).toLocaleDateString() : 'never'}</td>
                  <td>{key.status === 'active' && <ConfirmButton label="Revoke" danger question={`Revoke key ${key.name} (${key.prefix})? It stops working at once.`} onConfirm={() => revoke.mutate(key.id)} />}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <form className="inline-form" onSubmit={(e) => { e.preventDefault(); create.mutate(); }}>
        <label htmlFor="key-name" className="sr-only">Key name</label>
        <input id="key-name" placeholder="key name" maxLength={100} value={name} onChange={(e) => setName(e.target.value)} />
        <button type="submit" className="primary" disabled={create.isPending}>Create key</button>
      </form>
      <ProblemView error={create.error} />
    </div>
  );
}
