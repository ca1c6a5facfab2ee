// Paths on an instance's machine, as the files API takes them (FileTransfer.ValidatePath on the server).
const maxPathLength = 4096;
const modePattern = /^0?[0-7]{3}$/;

/** Null when `path` can name a file on the machine, else what is wrong with it (in the server's words). */
export function remotePathProblem(path: string): string | null {
  if (path.length === 0) return 'is required';
  if (!path.startsWith('/')) return 'must be absolute (start with /)';
  if (path.length > maxPathLength) return `must be at most ${maxPathLength} characters`;
  if (path.includes('\0')) return 'must not contain NUL characters';
  if (path.endsWith('/')) return 'must name a file, not end with /';
  return null;
}

/** Null for an empty mode (the server's 0644) or octal permission bits such as 0644 or 755. */
export function modeProblem(mode: string): string | null {
  return mode === '' || modePattern.test(mode) ? null : 'must be octal permission bits such as 0644 or 755';
}

/** Where an upload goes: a path ending in `/` is a directory, so the local file's name is added to it. */
export function uploadTarget(path: string, fileName: string): string {
  const trimmed = path.trim();
  return trimmed.endsWith('/') && fileName ? `${trimmed}${fileName}` : trimmed;
}

/** The name a downloaded file is saved under: the remote path's last part. */
export function baseName(path: string): string {
  const parts = path.split('/').filter((part) => part !== '' && part !== '.' && part !== '..');
  return parts.at(-1) ?? 'download';
}

/** "512 B", "1.5 KiB", "20.0 MiB": a size for a person. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Whole percent of a transfer, or null while its total is unknown. */
export function percent(done: number, total: number | null): number | null {
  if (total === null || !Number.isFinite(total) || total <= 0) return null;
  return Math.min(100, Math.floor((done / total) * 100));
}
