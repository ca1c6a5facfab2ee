/** Where a terminal attaches: a new ephemeral shell, or a persistent session (optionally read-only). */
export type TerminalTarget = { kind: 'shell' } | { kind: 'session'; sessionId: string; viewOnly: boolean };

/** The WebSocket URL on this origin for the target, with the window size the terminal starts with. */
export function terminalUrl(location: Pick<Location, 'protocol' | 'host'>, instanceId: string, target: TerminalTarget, cols: number, rows: number): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const base = `${scheme}//${location.host}/api/instances/${encodeURIComponent(instanceId)}`;
  if (target.kind === 'shell') return `${base}/shell?cols=${cols}&rows=${rows}`;
  const mode = target.viewOnly ? '&mode=view' : '';
  // History first, so a reattaching person sees what scrolled by while away.
  return `${base}/sessions/${encodeURIComponent(target.sessionId)}/attach?cols=${cols}&rows=${rows}&scrollback=1000${mode}`;
}

export type ControlMessage = { type: 'exit'; exit_code: number | null } | { type: 'error'; detail: string };

/** Reads a text frame from the server; anything unexpected is reported as an error message, never thrown. */
export function readControl(text: string): ControlMessage {
  try {
    const value = JSON.parse(text) as { type?: string; exit_code?: number | null; detail?: string };
    if (value.type === 'exit') return { type: 'exit', exit_code: value.exit_code ?? null };
    if (value.type === 'error') return { type: 'error', detail: value.detail ?? 'The shell failed.' };
    return { type: 'error', detail: `Unknown control message: ${text.slice(0, 100)}` };
  } catch {
    return { type: 'error', detail: `Unreadable control message: ${text.slice(0, 100)}` };
  }
}

export function resizeMessage(cols: number, rows: number): string {
  return JSON.stringify({ type: 'resize', cols, rows });
}
