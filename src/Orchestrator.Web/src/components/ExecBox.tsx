import { useRef, useState } from 'react';
import { execStream } from '../api/streams';
import type { ExecExitEvent } from '../api/types';
import { formatDuration } from '../lib/format';
import { ProblemView } from './ProblemView';

function decode(data: string | null | undefined, base64: string | null | undefined): string {
  if (data != null) return data;
  if (base64 == null) return '';
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

/** Runs one command on the instance and shows its output as it streams; Stop kills the remote command. */
export function ExecBox({ instanceId }: { instanceId: string }) {
  const [command, setCommand] = useState('');
  const [output, setOutput] = useState<{ stream: string; text: string }[]>([]);
  const [exit, setExit] = useState<ExecExitEvent | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [running, setRunning] = useState(false);
  const abort = useRef<AbortController | null>(null);

  const run = async (event: React.FormEvent) => {
    event.preventDefault();
    const controller = new AbortController();
    abort.current = controller;
    setOutput([]);
    setExit(null);
    setError(null);
    setRunning(true);
    try {
      await execStream(instanceId, command, (item) => {
        if (item.kind === 'exit') setExit(item.event);
        else setOutput((shown) => [...shown, { stream: item.event.stream, text: decode(item.event.data, item.event.data_base64) }]);
      }, controller.signal);
    } catch (caught) {
      if (!controller.signal.aborted) setError(caught);
    } finally {
      setRunning(false);
    }
  };

  return (
    <div className="card">
      <h2>Run a command</h2>
      <form onSubmit={(e) => void run(e)} className="inline-form">
        <label htmlFor="exec-command" className="sr-only">Command</label>
        <input id="exec-command" className="mono" value={command} onChange={(e) => setCommand(e.target.value)} placeholder="uname -a" required />
        {running ? (
          <button type="button" onClick={() => abort.current?.abort()}>Stop</button>
        ) : (
          <button type="submit" className="primary" disabled={!command.trim()}>Run</button>
        )}
      </form>
      <ProblemView error={error} />
      {(output.length > 0 || exit) && (
        <pre className="output" aria-live="polite" data-testid="exec-output">
          {output.map((chunk, i) => <span key={i} className={chunk.stream === 'stderr' ? 'stderr' : undefined}>{chunk.text}</span>)}
        </pre>
      )}
      {exit && (
        <p className="muted small" data-testid="exec-exit">
          {exit.signal ? `killed by ${exit.signal}` : `exit ${exit.exit_code}`}{exit.timed_out ? ' (timed out)' : ''} after {formatDuration(exit.duration_ms)}
        </p>
      )}
    </div>
  );
}
