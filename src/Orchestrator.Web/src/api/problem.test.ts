import { describe, expect, it } from 'vitest';
import { currentSignIn, saveSignIn, tenantOfKey } from './auth';
import { ApiProblem, problemFrom } from './problem';

describe('problemFrom', () => {
  it('reads problem details', async () => {
    const response = new Response(JSON.stringify({ type: 'https://orchestrator.dev/problems/not-found', title: 'Not found', status: 404, detail: 'No instance web-1.', request_id: 'req-1', field: 'id' }), {
      status: 404, headers: { 'content-type': 'application/problem+json' },
    });
    const problem = await problemFrom(response);
    expect(problem.describe()).toBe('Not found — No instance web-1. — (field: id) — [request req-1]');
  });

  it('describes a body that is not a problem', async () => {
    const problem = await problemFrom(new Response('upstream down', { status: 502, statusText: 'Bad Gateway', headers: { 'x-request-id': 'r9' } }));
    expect(problem).toBeInstanceOf(ApiProblem);
    expect(problem.describe()).toBe('Bad Gateway — upstream down — [request r9]');
  });
});

describe('sign-in storage', () => {
  it('round-trips and ignores foreign values', () => {
    const map = new Map<string, string>();
    const storage = { getItem: (k: string) => map.get(k) ?? null, setItem: (k: string, v: string) => void map.set(k, v) };
    expect(currentSignIn(storage)).toBeNull();
    saveSignIn({ key: 'orch_acme_k1_s', kind: 'tenant', label: 'acme' }, storage);
    expect(currentSignIn(storage)).toEqual({ key: 'orch_acme_k1_s', kind: 'tenant', label: 'acme' });
    map.set('orchestrator.key', '{"key":1}');
    expect(currentSignIn(storage)).toBeNull();
  });

  it('reads the tenant of a key', () => expect(tenantOfKey('orch_acme-co_k1_secret')).toBe('acme-co'));
});
