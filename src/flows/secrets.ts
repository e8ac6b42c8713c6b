import { readFileSync } from 'node:fs';

/**
 * `${secret:NAME}` inside a component's configuration is replaced at load by the environment
 * variable NAME, or by the content of the file named in NAME_FILE (Docker secrets). Every value
 * resolved is remembered so every sink can mask it by value, not only by key.
 */
const SECRET_REFERENCE = /\$\{secret:([A-Za-z_][A-Za-z0-9_]*)\}/g;

export interface SecretSource {
  readonly env: Readonly<Record<string, string | undefined>>;
}

export class SecretStore {
  readonly #values = new Set<string>();
  #pattern: RegExp | undefined;

  add(value: string): void {
    // Very short values would mask ordinary words; such a secret is itself a configuration smell.
    if (value.length < 4 || this.#values.has(value)) return;
    this.#values.add(value);
    this.#pattern = undefined;
  }

  get size(): number {
    return this.#values.size;
  }

  values(): readonly string[] {
    return [...this.#values];
  }

  /** Replaces every known secret value inside `text` by `[REDACTED]`. */
  maskText(text: string): string {
    if (this.#values.size === 0) return text;
    this.#pattern ??= new RegExp(
      // Also the JSON-escaped spelling: a secret holding `"`, `\` or a control character appears
      // escaped in serialised bodies and log lines.
      [...new Set([...this.#values].flatMap((value) => [value, JSON.stringify(value).slice(1, -1)]))]
        .sort((a, b) => b.length - a.length)
        .map((value) => value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('|'),
      'g',
    );
    return text.replace(this.#pattern, '[REDACTED]');
  }

  /** A deep copy of `value` with every secret value masked in its strings. */
  mask<T>(value: T): T {
    if (this.#values.size === 0) return value;
    return maskDeep(value, (text) => this.maskText(text)) as T;
  }
}

function maskDeep(value: unknown, maskText: (text: string) => string, depth = 0): unknown {
  if (typeof value === 'string') return maskText(value);
  if (depth > 64 || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((item) => maskDeep(item, maskText, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) out[key] = maskDeep(item, maskText, depth + 1);
  return out;
}

/**
 * Resolves secret references in `value` (deeply). Returns the resolved value and the names that
 * could not be resolved, so the loader can report them all at once.
 */
export function resolveSecrets(
  value: unknown,
  source: SecretSource,
  store: SecretStore,
): { value: unknown; missing: string[] } {
  const missing: string[] = [];
  const resolveString = (text: string): string =>
    text.replace(SECRET_REFERENCE, (_match, name: string) => {
      const secret = readSecret(name, source);
      if (secret === undefined) {
        missing.push(name);
        return '';
      }
      store.add(secret);
      return secret;
    });
  const walk = (item: unknown): unknown => {
    if (typeof item === 'string') return item.includes('${secret:') ? resolveString(item) : item;
    if (Array.isArray(item)) return item.map(walk);
    if (typeof item === 'object' && item !== null) {
      return Object.fromEntries(Object.entries(item).map(([key, child]) => [key, walk(child)]));
    }
    return item;
  };
  return { value: walk(value), missing };
}

function readSecret(name: string, source: SecretSource): string | undefined {
  const direct = source.env[name];
  if (direct !== undefined && direct !== '') return direct;
  const file = source.env[`${name}_FILE`];
  if (file === undefined || file === '') return undefined;
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}
