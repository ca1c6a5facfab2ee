import { describe, expect, it } from 'vitest';
import { readControl, resizeMessage, shellUrl } from './terminalSocket';

describe('terminal socket', () => {
  it('builds ws and wss URLs', () => {
    expect(shellUrl({ protocol: 'http:', host: '127.0.0.1:8080' }, 'web-1', 80, 24)).toBe('ws://127.0.0.1:8080/api/instances/web-1/shell?cols=80&rows=24');
    expect(shellUrl({ protocol: 'https:', host: 'o.example' }, 'a b', 1, 2)).toBe('wss://o.example/api/instances/a%20b/shell?cols=1&rows=2');
  });
  it('reads control messages without throwing', () => {
    expect(readControl('{"type":"exit","exit_code":3}')).toEqual({ type: 'exit', exit_code: 3 });
    expect(readControl('{"type":"error","detail":"bad"}')).toEqual({ type: 'error', detail: 'bad' });
    expect(readControl('nope').type).toBe('error');
  });
  it('writes resize messages', () => expect(JSON.parse(resizeMessage(120, 40))).toEqual({ type: 'resize', cols: 120, rows: 40 }));
});
