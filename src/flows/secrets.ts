import { readFileSync } from 'node:fs';
import { MAX_VALUE_NESTING } from '../limits/json-nesting.js';

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

  /**
   * `value` with every secret value masked in its strings. Copy-on-write: the result shares what
   * holds no secret with `value` (the same object when nothing is masked); treat it as immutable.
   */
  mask<T>(value: T): T {
    if (this.#values.size === 0) return value;
    return maskDeep(value, (text) => this.maskText(text)) as T;
  }
}

const TOO_DEEP = '[nested too deep]';

/** Copy-on-write, like redactSensitive: only what holds a secret is copied; clean data is returned as is. */
function maskDeep(value: unknown, maskText: (text: string) => string, depth = 0): unknown {
  if (typeof value === 'string') return maskText(value);
  if (typeof value !== 'object' || value === null) return value;
  // Values flowd keeps are nested at most MAX_VALUE_NESTING deep; deeper parts are not walked, and
  // not passed on unmasked either.
  if (depth > MAX_VALUE_NESTING) return TOO_DEEP;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const masked = maskDeep(item, maskText, depth + 1);
      if (masked !== item) (copy ??= value.slice())[i] = masked;
    }
    return copy ?? value;
  }
  const source = value as Record<string, unknown>;
  const keys = Object.keys(source);
  let out: Record<string, unknown> | undefined;
  for (let i = 0; i < keys.length; i++) {
    const item = source[keys[i]!];
    const masked = maskDeep(item, maskText, depth + 1);
    if (out === undefined) {
      if (masked === item) continue;
      out = {};
      for (let j = 0; j < i; j++) defineField(out, keys[j]!, source[keys[j]!]);
    }
    defineField(out, keys[i]!, masked);
  }
  return out ?? value;
}

/** defineProperty: a `__proto__` field stays a plain field, never a prototype. */
function defineField(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
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
