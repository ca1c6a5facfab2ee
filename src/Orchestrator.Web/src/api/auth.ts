// The API key lives in sessionStorage only: gone with the tab, never in a URL, a cookie or a log.
const storageKey = 'orchestrator.key';

export type KeyKind = 'tenant' | 'admin';

export interface SignIn {
  readonly key: string;
  readonly kind: KeyKind;
  readonly label: string;
}

export function currentSignIn(storage: Pick<Storage, 'getItem'> = sessionStorage): SignIn | null {
  const raw = storage.getItem(storageKey);
  if (!raw) return null;
  try {
    const value = JSON.parse(raw) as Partial<SignIn>;
    return typeof value.key === 'string' && (value.kind === 'tenant' || value.kind === 'admin') && typeof value.label === 'string'
      ? { key: value.key, kind: value.kind, label: value.label }
      : null;
  } catch {
    // Not ours (or from an older console): treat as signed out.
    return null;
  }
}

export function saveSignIn(signIn: SignIn, storage: Pick<Storage, 'setItem'> = sessionStorage): void {
  storage.setItem(storageKey, JSON.stringify(signIn));
}

export function signOut(storage: Pick<Storage, 'removeItem'> = sessionStorage): void {
  storage.removeItem(storageKey);
}

/** The tenant a tenant key belongs to (`orch_{tenant}_{keyId}_{secret}`), for display only. */
export function tenantOfKey(key: string): string | null {
  const match = /^orch_([a-z0-9-]+)_/.exec(key);
  return match?.[1] ?? null;
}

/** The WebSocket subprotocols that carry the key: a browser cannot set headers on a WebSocket. */
export function webSocketProtocols(key: string): string[] {
  return ['orchestrator', `bearer.${key}`];
}
