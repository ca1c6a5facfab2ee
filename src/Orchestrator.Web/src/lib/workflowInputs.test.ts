import { describe, expect, it } from 'vitest';
import { defaultText, readInputs } from './workflowInputs';

describe('readInputs', () => {
  it('reads YAML inputs with types, defaults and secrets', () => {
    const specs = readInputs(`name: x
inputs:
  region: { type: string, default: iad, description: Fly region }
  count: { type: number, required: true }
  token: { type: string, secret: true }
  extra: { type: object, default: { a: 1 } }
steps: []
`);
    expect(specs).toEqual({
      region: { type: 'string', required: false, secret: false, default: 'iad', description: 'Fly region' },
      count: { type: 'number', required: true, secret: false },
      token: { type: 'string', required: false, secret: true },
      extra: { type: 'object', required: false, secret: false, default: { a: 1 } },
    });
    expect(defaultText(specs.extra!)).toBe('{"a":1}');
  });

  it('reads JSON sources and survives bad ones', () => {
    expect(Object.keys(readInputs('{"name":"x","inputs":{"a":{"type":"boolean"}},"steps":[]}'))).toEqual(['a']);
    expect(readInputs(': : :')).toEqual({});
    expect(readInputs('name: x')).toEqual({});
  });
});
