import { describe, expect, it } from 'vitest';
import { age, coerceInputs, formatDuration, parseEnvLines } from './format';

describe('formatDuration', () => {
  it.each([
    [250, '250ms'], [4_000, '4s'], [65_000, '1m 05s'], [2 * 3600_000 + 600_000, '2h 10m'], [3 * 86400_000 + 4 * 3600_000, '3d 4h'], [-1, '—'],
  ])('%d ms is %s', (ms, text) => expect(formatDuration(ms)).toBe(text));

  it('ages from an ISO time', () => expect(age('2026-01-01T00:00:00Z', Date.parse('2026-01-01T00:00:30Z'))).toBe('30s'));
  it('treats a time just ahead of the clock as now', () => expect(age('2026-01-01T00:00:01Z', Date.parse('2026-01-01T00:00:00Z'))).toBe('0ms'));
});

describe('parseEnvLines', () => {
  it('reads pairs, keeps = in values, skips comments', () =>
    expect(parseEnvLines('A=1\n# note\n\nB=x=y')).toEqual({ env: { A: '1', B: 'x=y' } }));
  it('names the bad line', () => expect(parseEnvLines('A=1\nnope')).toEqual({ error: 'line 2: expected KEY=VALUE' }));
});

describe('coerceInputs', () => {
  const specs = { repo: { type: 'string', required: true }, count: { type: 'number' }, debug: { type: 'boolean' }, extra: { type: 'object' }, tag: { type: 'string', required: true, default: 'x' } };
  it('types each value', () =>
    expect(coerceInputs({ repo: 'r', count: '3', debug: 'true', extra: '{"a":1}' }, specs)).toEqual({ inputs: { repo: 'r', count: 3, debug: true, extra: { a: 1 } } }));
  it('requires required inputs without defaults', () => expect(coerceInputs({}, specs)).toEqual({ error: 'repo is required', field: 'repo' }));
  it('refuses a non-number', () => expect(coerceInputs({ repo: 'r', count: 'x' }, specs)).toMatchObject({ field: 'count' }));
  it('refuses a non-object', () => expect(coerceInputs({ repo: 'r', extra: '[1]' }, specs)).toMatchObject({ field: 'extra' }));
});

