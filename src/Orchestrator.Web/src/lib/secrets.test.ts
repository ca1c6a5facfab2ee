import { describe, expect, it } from 'vitest';
import { maxSecretValueBytes, secretNameProblem, secretValueProblem } from './secrets';

describe('secretNameProblem', () => {
  it.each(['GITHUB_TOKEN', '_X', 'A1', 'A'.repeat(64)])('takes %s', (name) => expect(secretNameProblem(name)).toBeNull());
  it.each(['', 'github_token', '1ABC', 'MY-TOKEN', 'A B', 'Ä', 'A'.repeat(65)])('refuses %j', (name) =>
    expect(secretNameProblem(name)).toContain('uppercase letters, digits and'));
});

describe('secretValueProblem', () => {
  it('takes text up to the limit in UTF-8 bytes', () => {
    expect(secretValueProblem('hunter2')).toBeNull();
    expect(secretValueProblem('x'.repeat(maxSecretValueBytes))).toBeNull();
  });
  it('counts bytes, not characters', () => expect(secretValueProblem('é'.repeat(maxSecretValueBytes / 2 + 1))).toBe(`must be at most ${maxSecretValueBytes} bytes of UTF-8 (it is ${maxSecretValueBytes + 2})`));
  it('refuses an empty value, NUL and a lone surrogate', () => {
    expect(secretValueProblem('')).toBe('must be a non-empty string');
    expect(secretValueProblem('a\0b')).toBe('must not contain U+0000');
    expect(secretValueProblem('a\ud800b')).toContain('lone surrogate');
  });
  it('takes a surrogate pair', () => expect(secretValueProblem('key 🔑')).toBeNull());
});
