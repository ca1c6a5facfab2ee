import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { useEffect, useRef, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Link, useParams, useSearchParams } from 'react-router';
import { sessionsApi } from '../api/faces';
import { currentSignIn, webSocketProtocols } from '../api/auth';
import { readControl, resizeMessage, terminalUrl, type TerminalTarget } from '../lib/terminalSocket';

type Status = { kind: 'connecting' } | { kind: 'open' } | { kind: 'closed'; reason: string };

/**
 * xterm.js on a WebSocket to the instance: a new shell, or a persistent session picked from the instance's sessions
 * (`?session=ID`, `&mode=view` to watch). Fits its pane, sends resizes, and offers to reconnect when it closes.
 */
export default function TerminalPage() {
  const id = useParams().id ?? '';
  const [params, setParams] = useSearchParams();
  const sessionId = params.get('session');
  const viewOnly = params.get('mode') === 'view';
  const sessions = useQuery({ queryKey: ['sessions', id], queryFn: () => sessionsApi.list(id), refetchInterval: 5000 });
  const host = useRef<HTMLDivElement>(null);
  const [status, setStatus] = useState<Status>({ kind: 'connecting' });
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const element = host.current;
    const signIn = currentSignIn();
    if (!element || !signIn) return;
    const dark = window.matchMedia('(prefers-color-scheme: dark)').matches;
    const terminal = new Terminal({
      cursorBlink: true, fontSize: 14, scrollback: 5000, convertEol: false,
      fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace',
      theme: dark ? { background: '#0d1117', foreground: '#e6edf3' } : { background: '#ffffff', foreground: '#1f2328', cursor: '#1f2328', selectionBackground: '#b6d7ff' },
    });
    const fit = new FitAddon();
    terminal.loadAddon(fit);
    terminal.open(element);
    fit.fit();
    setStatus({ kind: 'connecting' });

    const target: TerminalTarget = sessionId ? { kind: 'session', sessionId, viewOnly } : { kind: 'shell' };
    const socket = new WebSocket(terminalUrl(window.location, id, target, terminal.cols, terminal.rows), webSocketProtocols(signIn.key));
    socket.binaryType = 'arraybuffer';
    const encoder = new TextEncoder();
    let exited: string | null = null;
    socket.onopen = () => {
      setStatus({ kind: 'open' });
      terminal.focus();
    };
    socket.onmessage = (message) => {
      if (message.data instanceof ArrayBuffer) {
        terminal.write(new Uint8Array(message.data));
        return;
      }
      const control = readControl(String(message.data));
      if (control.type === 'exit') exited = `The shell exited${control.exit_code === null ? '' : ` with status ${control.exit_code}`}.`;
      else terminal.write(`\r\n\x1b[31m${control.detail}\x1b[0m\r\n`);
    };
    socket.onclose = (event) => setStatus({ kind: 'closed', reason: exited ?? (event.reason || `The connection closed (${event.code}).`) });
    const input = terminal.onData((data) => socket.readyState === WebSocket.OPEN && socket.send(encoder.encode(data)));
    const binary = terminal.onBinary((data) => socket.readyState === WebSocket.OPEN && socket.send(Uint8Array.from(data, (c) => c.charCodeAt(0))));
    const resized = terminal.onResize(({ cols, rows }) => socket.readyState === WebSocket.OPEN && socket.send(resizeMessage(cols, rows)));
    const observer = new ResizeObserver(() => fit.fit());
    observer.observe(element);

    return () => {
      observer.disconnect();
      input.dispose();
      binary.dispose();
      resized.dispose();
      socket.close(1000);
      terminal.dispose();
    };
  }, [id, attempt, sessionId, viewOnly]);

  return (
    <section className="terminal-page">
      <div className="page-head">
        <h1><Link to={`/instances/${id}`}>{id}</Link> terminal</h1>
        <span className="muted" role="status" data-testid="terminal-status">
          {status.kind === 'open' ? 'connected' : status.kind === 'connecting' ? 'connecting…' : status.reason}
        </span>
        {status.kind === 'closed' && <button type="button" className="primary" onClick={() => setAttempt((n) => n + 1)}>Reconnect</button>}
      </div>
      <div className="filters">
        <label>
          Attach to
          <select value={sessionId ?? ''} onChange={(e) => setParams(e.target.value ? { session: e.target.value } : {}, { replace: true })}>
            <option value="">a new shell (ends when closed)</option>
            {sessions.data?.items.filter((s) => s.status === 'running').map((s) => <option key={s.id} value={s.id}>session {s.name}</option>)}
          </select>
        </label>
        {sessionId && (
          <label>
            <input type="checkbox" checked={viewOnly} onChange={(e) => setParams(e.target.checked ? { session: sessionId, mode: 'view' } : { session: sessionId }, { replace: true })} /> view only
          </label>
        )}
      </div>
      <div ref={host} className="terminal" data-testid="terminal" aria-label={`Terminal on ${id}`} />
    </section>
  );
}
