const tone: Record<string, string> = {
  started: 'ok', succeeded: 'ok', ready: 'ok', active: 'ok', exited: 'idle', ended: 'idle', revoked: 'idle', expired: 'idle', running: 'busy', creating: 'busy', starting: 'busy', pending: 'busy', waiting: 'wait',
  stopping: 'busy', stopped: 'idle', destroyed: 'idle', destroying: 'busy', skipped: 'idle', cancelled: 'idle', failed: 'bad',
};

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge badge-${tone[status] ?? 'idle'}`}>{status}</span>;
}
