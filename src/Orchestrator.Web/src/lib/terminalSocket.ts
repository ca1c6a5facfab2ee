/** The shell WebSocket's URL on this origin, with the window size the shell starts with. */
export function shellUrl(location: Pick<Location, 'protocol' | 'host'>, instanceId: string, cols: number, rows: number): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/api/instances/${encodeURIComponent(instanceId)}/shell?cols=${cols}&rows=${rows}`;
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
