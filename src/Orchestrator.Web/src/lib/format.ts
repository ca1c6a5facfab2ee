/** "3s", "4m 05s", "2h 10m", "3d 4h": short enough for a table cell. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return ms < 1000 ? `${Math.round(ms)}ms` : `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${String(seconds % 60).padStart(2, '0')}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h ${String(minutes % 60).padStart(2, '0')}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

export function age(iso: string | null | undefined, nowMs: number): string {
  if (!iso) return '—';
  // A time a little ahead of this browser's clock (another machine's) is "just now", not unknown.
  return formatDuration(Math.max(0, nowMs - Date.parse(iso)));
}

/** Parses `KEY=VALUE` lines (blank lines and `#` comments skipped); returns the first bad line's problem instead. */
export function parseEnvLines(text: string): { env: Record<string, string> } | { error: string } {
  const env: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) return { error: `line ${i + 1}: expected KEY=VALUE` };
    env[line.slice(0, eq).trim()] = line.slice(eq + 1);
  }
  return { env };
}

/** Converts a form's text fields to typed run inputs by the workflow's input types; the first problem is returned instead. */
export function coerceInputs(
  fields: Record<string, string>,
  specs: Record<string, { type?: string; required?: boolean; default?: unknown }>,
): { inputs: Record<string, unknown> } | { error: string; field: string } {
  const inputs: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const raw = fields[name] ?? '';
    if (raw === '') {
      if (spec.required && spec.default === undefined) return { error: `${name} is required`, field: name };
      continue;
    }
    switch (spec.type ?? 'string') {
      case 'number': {
        const value = Number(raw);
        if (!Number.isFinite(value)) return { error: `${name} must be a number`, field: name };
        inputs[name] = value;
        break;
      }
      case 'boolean':
        if (raw !== 'true' && raw !== 'false') return { error: `${name} must be true or false`, field: name };
        inputs[name] = raw === 'true';
        break;
      case 'object':
        try {
          const value: unknown = JSON.parse(raw);
          if (value === null || typeof value !== 'object' || Array.isArray(value)) return { error: `${name} must be a JSON object`, field: name };
          inputs[name] = value;
        } catch {
          return { error: `${name} must be a JSON object`, field: name };
        }
        break;
      default:
        inputs[name] = raw;
    }
  }
  return { inputs };
}
