import { describe, expect, it } from 'vitest';
import { LineSplitter, SseParser } from './sse';

describe('SseParser', () => {
  it('parses events split anywhere across chunks', () => {
    const text = 'id: 1\nevent: step.started\ndata: {"a":1}\n\n: keep-alive\n\nid: 2\r\nevent: run.completed\r\ndata: {"b":2}\r\n\r\n';
    for (let cut = 0; cut <= text.length; cut++) {
      const parser = new SseParser();
      const messages = [...parser.push(text.slice(0, cut)), ...parser.push(text.slice(cut))];
      expect(messages).toEqual([
        { id: '1', event: 'step.started', data: '{"a":1}' },
        { id: '2', event: 'run.completed', data: '{"b":2}' },
      ]);
    }
  });

  it('joins multi-line data and defaults the event name', () =>
    expect(new SseParser().push('data: a\ndata: b\n\n')).toEqual([{ id: null, event: 'message', data: 'a\nb' }]));
});

describe('LineSplitter', () => {
  it('returns complete lines only, then the rest on flush', () => {
    const lines = new LineSplitter();
    expect(lines.push('{"a":1}\n{"b"')).toEqual(['{"a":1}']);
    expect(lines.push(':2}\n\n{"c":3}')).toEqual(['{"b":2}']);
    expect(lines.flush()).toEqual(['{"c":3}']);
  });
});
