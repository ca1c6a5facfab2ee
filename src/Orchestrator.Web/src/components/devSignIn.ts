import { saveSignIn, type SignIn } from '../api/auth';

/**
 * The dev profile serves its well-known key to loopback browsers at /ui/dev-sign-in, so a laptop's console opens
 * signed in as tenant dev, as the dev key works from loopback; anywhere else that answers 404 and the console asks.
 */
export async function tryDevSignIn(): Promise<SignIn | null> {
  try {
    const response = await fetch('/ui/dev-sign-in', { headers: { Accept: 'application/json' } });
    if (!response.ok) return null;
    const body = (await response.json()) as { key?: string; tenant?: string };
    if (!body.key || !body.tenant) return null;
    const signIn: SignIn = { key: body.key, kind: 'tenant', label: body.tenant };
    saveSignIn(signIn);
    return signIn;
  } catch (error) {
    console.warn('dev sign-in unavailable', error);
    return null;
  }
}
