import { describe, expect, it } from 'vitest';
import { readControl, resizeMessage, terminalUrl } from './terminalSocket';

describe('terminal socket', () => {
  it('builds shell URLs, ws and wss', () => {
    expect(terminalUrl({ protocol: 'http:', host: '127.0.0.1:8080' }, 'web-1', { kind: 'shell' }, 80, 24)).toBe('ws://127.0.0.1:8080/api/instances/web-1/shell?cols=80&rows=24');
    expect(terminalUrl({ protocol: 'https:', host: 'o.example' }, 'a b', { kind: 'shell' }, 1, 2)).toBe('wss://o.example/api/instances/a%20b/shell?cols=1&rows=2');
  });
  it('attaches to sessions with history, read-only when asked', () => {
    expect(terminalUrl({ protocol: 'http:', host: 'h' }, 'box', { kind: 'session', sessionId: 'dev', viewOnly: false }, 100, 30))
      .toBe('ws://h/api/instances/box/sessions/dev/attach?cols=100&rows=30&scrollback=1000');
    expect(terminalUrl({ protocol: 'http:', host: 'h' }, 'box', { kind: 'session', sessionId: 'dev', viewOnly: true }, 100, 30)).toMatch(/&mode=view$/);
  });
  it('reads control messages without throwing', () => {
    expect(readControl('{"type":"exit","exit_code":3}')).toEqual({ type: 'exit', exit_code: 3 });
    expect(readControl('{"type":"error","detail":"bad"}')).toEqual({ type: 'error', detail: 'bad' });
    expect(readControl('nope').type).toBe('error');
  });
  it('writes resize messages', () => expect(JSON.parse(resizeMessage(120, 40))).toEqual({ type: 'resize', cols: 120, rows: 40 }));
});
