// The server's rules for a secret (TenantSecretRules), repeated here only to hint while typing: the API decides.
export const maxSecretNameLength = 64;
export const maxSecretValueBytes = 64 * 1024;
const namePattern = /^[A-Z_][A-Z0-9_]*$/;

/** Null when `name` can name a secret, else what is wrong with it (in the server's words). */
export function secretNameProblem(name: string): string | null {
  return name.length <= maxSecretNameLength && namePattern.test(name)
    ? null
    : `must be 1 to ${maxSecretNameLength} characters: uppercase letters, digits and '_', not starting with a digit (as in secrets.NAME)`;
}

/** Null when `value` can be a secret's value, else what is wrong with it. */
export function secretValueProblem(value: string): string | null {
  if (value.length === 0) return 'must be a non-empty string';
  if (value.includes('\0')) return 'must not contain U+0000';
  if (/\p{Cs}/u.test(value)) return 'must be valid Unicode text (it holds a lone surrogate)';
  const bytes = new TextEncoder().encode(value).length;
  return bytes > maxSecretValueBytes ? `must be at most ${maxSecretValueBytes} bytes of UTF-8 (it is ${bytes})` : null;
}
