import { parse } from 'yaml';

export interface InputSpec {
  readonly type: 'string' | 'number' | 'boolean' | 'object';
  readonly required: boolean;
  readonly default?: unknown;
  readonly description?: string;
  readonly secret: boolean;
}

const types = new Set(['string', 'number', 'boolean', 'object']);

/**
 * The inputs a workflow declares, read from its stored source (YAML, or JSON, which YAML reads too), for the
 * start-run form. The server validated the source when it was registered; a source this cannot read gives no inputs.
 */
export function readInputs(source: string): Record<string, InputSpec> {
  let document: unknown;
  try {
    document = parse(source);
  } catch {
    return {};
  }
  const inputs = (document as { inputs?: unknown } | null)?.inputs;
  if (!inputs || typeof inputs !== 'object' || Array.isArray(inputs)) return {};
  const specs: Record<string, InputSpec> = {};
  for (const [name, raw] of Object.entries(inputs as Record<string, unknown>)) {
    const spec = (raw ?? {}) as Record<string, unknown>;
    const type = typeof spec.type === 'string' && types.has(spec.type) ? (spec.type as InputSpec['type']) : 'string';
    specs[name] = {
      type,
      required: spec.required === true,
      secret: spec.secret === true,
      ...(spec.default !== undefined ? { default: spec.default } : {}),
      ...(typeof spec.description === 'string' ? { description: spec.description } : {}),
    };
  }
  return specs;
}

/** The form's starting text for an input: its default, as the field shows it. */
export function defaultText(spec: InputSpec): string {
  if (spec.default === undefined || spec.default === null) return '';
  return typeof spec.default === 'object' ? JSON.stringify(spec.default) : String(spec.default);
}
