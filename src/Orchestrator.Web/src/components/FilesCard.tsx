import { useRef, useState } from 'react';
import { downloadFile, saveBlob, uploadFile, type Progress } from '../api/files';
import type { FileWritten } from '../api/types';
import { baseName, formatBytes, modeProblem, percent, remotePathProblem, uploadTarget } from '../lib/files';
import { ProblemView } from './ProblemView';

/** Copies files to and from the instance's machine: upload with progress, download saved under the file's name. */
export function FilesCard({ instanceId }: { instanceId: string }) {
  return (
    <div className="card">
      <h2>Files</h2>
      <div className="columns">
        <UploadForm instanceId={instanceId} />
        <DownloadForm instanceId={instanceId} />
      </div>
    </div>
  );
}

function UploadForm({ instanceId }: { instanceId: string }) {
  const [file, setFile] = useState<File | null>(null);
  const [path, setPath] = useState('');
  const [mode, setMode] = useState('');
  const [written, setWritten] = useState<FileWritten | null>(null);
  const transfer = useTransfer();
  const target = uploadTarget(path, file?.name ?? '');
  const pathHint = target ? remotePathProblem(target) : null;
  const modeHint = modeProblem(mode.trim());

  const upload = async (event: React.FormEvent) => {
    event.preventDefault();
    if (!file) return;
    setWritten(null);
    await transfer.run({ done: 0, total: file.size }, async (onProgress, signal) => {
      setWritten(await uploadFile(instanceId, target, mode.trim(), file, onProgress, signal));
    });
  };

  const { progress, error, busy, shown } = transfer;
  return (
    <form onSubmit={(e) => void upload(e)} aria-labelledby="upload-title" aria-busy={busy}>
      <h3 id="upload-title">Upload</h3>
      <label htmlFor="upload-file">Local file</label>
      <input id="upload-file" type="file" required onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
      <label htmlFor="upload-path">Path on the machine</label>
      <input
        id="upload-path"
        className="mono"
        required
        placeholder="/tmp/ (a directory keeps the file's name)"
        value={path}
        onChange={(e) => setPath(e.target.value)}
        aria-invalid={pathHint !== null}
        aria-describedby="upload-path-hint"
      />
      <p id="upload-path-hint" className="muted small">{pathHint ? `The path ${pathHint}.` : target ? <>Writes <code>{target}</code>, replacing a file there.</> : 'Absolute; missing directories are created.'}</p>
      <label htmlFor="upload-mode">Mode (optional, octal; default 0644)</label>
      <input id="upload-mode" className="mono" placeholder="0644" value={mode} onChange={(e) => setMode(e.target.value)} aria-invalid={modeHint !== null} aria-describedby="upload-mode-hint" />
      <p id="upload-mode-hint" className="muted small">{modeHint ? `The mode ${modeHint}.` : 'Such as 0600 or 755.'}</p>
      {progress && (
        <div role="status" className="small">
          <label htmlFor="upload-progress">Uploading {file?.name}: {formatBytes(progress.done)}{progress.total !== null ? ` of ${formatBytes(progress.total)}` : ''}</label>
          <progress id="upload-progress" max={100} value={shown ?? undefined} />
        </div>
      )}
      <ProblemView error={error} />
      {written && (
        <p className="notice" role="status" data-testid="upload-done">
          Wrote <code>{written.path}</code>: {formatBytes(written.size_bytes)}, mode {written.mode}, SHA-256 <code className="small">{written.sha256}</code>
        </p>
      )}
      <div className="actions">
        {busy ? (
          <button type="button" onClick={transfer.cancel}>Cancel upload</button>
        ) : (
          <button type="submit" className="primary" disabled={!file}>Upload</button>
        )}
      </div>
    </form>
  );
}

function DownloadForm({ instanceId }: { instanceId: string }) {
  const [path, setPath] = useState('');
  const transfer = useTransfer();
  const pathHint = path.trim() ? remotePathProblem(path.trim()) : null;

  const download = async (event: React.FormEvent) => {
    event.preventDefault();
    const remote = path.trim();
    await transfer.run({ done: 0, total: null }, async (onProgress, signal) => {
      saveBlob(await downloadFile(instanceId, remote, onProgress, signal), baseName(remote));
    });
  };

  const { progress, error, busy, shown } = transfer;
  return (
    <form onSubmit={(e) => void download(e)} aria-labelledby="download-title" aria-busy={busy}>
      <h3 id="download-title">Download</h3>
      <label htmlFor="download-path">Path to download</label>
      <input
        id="download-path"
        className="mono"
        required
        placeholder="/var/log/syslog"
        value={path}
        onChange={(e) => setPath(e.target.value)}
        aria-invalid={pathHint !== null}
        aria-describedby="download-path-hint"
      />
      <p id="download-path-hint" className="muted small">{pathHint ? `The path ${pathHint}.` : 'Saved in your downloads under the file\'s own name.'}</p>
      {progress && (
        <div role="status" className="small">
          <label htmlFor="download-progress">Downloading: {formatBytes(progress.done)}{progress.total !== null ? ` of ${formatBytes(progress.total)}` : ''}</label>
          <progress id="download-progress" max={100} value={shown ?? undefined} />
        </div>
      )}
      <ProblemView error={error} />
      <div className="actions">
        {busy ? (
          <button type="button" onClick={transfer.cancel}>Cancel download</button>
        ) : (
          <button type="submit" className="primary">Download</button>
        )}
      </div>
    </form>
  );
}

/**
 * One transfer at a time with its progress, its problem and a cancel: a cancelled transfer shows no problem, and
 * the progress is cleared however it ends.
 */
function useTransfer() {
  const [progress, setProgress] = useState<Progress | null>(null);
  const [error, setError] = useState<unknown>(null);
  const abort = useRef<AbortController | null>(null);

  const run = async (start: Progress, work: (onProgress: (p: Progress) => void, signal: AbortSignal) => Promise<void>) => {
    const controller = new AbortController();
    abort.current = controller;
    setError(null);
    setProgress(start);
    try {
      await work(setProgress, controller.signal);
    } catch (caught) {
      if (!controller.signal.aborted) setError(caught);
    } finally {
      setProgress(null);
    }
  };

  return {
    progress,
    error,
    busy: progress !== null,
    shown: progress ? percent(progress.done, progress.total) : null,
    run,
    cancel: () => abort.current?.abort(),
  };
}
