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

/**
 * Shorter secrets are refused at load: masking them would mangle ordinary words, and not masking
 * them would let them through every sink.
 */
export const MIN_SECRET_LENGTH = 4;

export class SecretStore {
  readonly #values = new Set<string>();
  #pattern: RegExp | undefined;

  /** Remembers a secret value; one shorter than MIN_SECRET_LENGTH is a programming error here (the loader refuses it first). */
  add(value: string): void {
    if (value.length < MIN_SECRET_LENGTH) throw new RangeError(`a secret must be at least ${MIN_SECRET_LENGTH} characters long`);
    if (this.#values.has(value)) return;
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
      [...new Set([...this.#values].flatMap(spellingsOf))]
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

/**
 * Every way a secret value can show up in text flowd handles: as it is; JSON-escaped (a secret
 * holding `"`, `\` or a control character appears escaped in bodies and log lines);
 * percent-encoded (an upstream echoing a query string or form body); base64 and base64url (an
 * upstream echoing `Authorization: Basic …`, or a token it encoded).
 */
function spellingsOf(value: string): string[] {
  const percent = encodeURIComponent(value);
  return [
    value,
    JSON.stringify(value).slice(1, -1),
    percent,
    percent.replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase()),
    percent.replaceAll('%20', '+'),
    ...base64Spellings(value),
  ].filter((spelling) => spelling.length >= MIN_SECRET_LENGTH);
}

/**
 * Base64 turns each 3 bytes into 4 characters, so how a secret is spelled inside a longer encoded
 * text (`user:secret` in a Basic header) depends on its offset modulo 3. For each of the three
 * offsets, the characters that encode only secret bytes are the same whatever surrounds it: those
 * are masked. Both alphabets, without padding.
 */
function base64Spellings(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  // The secret encoded on its own, padding included: masked whole.
  const spellings: string[] = [bytes.toString('base64'), bytes.toString('base64url')];
  for (let offset = 0; offset < 3; offset++) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64').replace(/=+$/, '');
    // Characters holding filler bits (before) or bits of whatever follows (after) are dropped.
    const start = offset === 0 ? 0 : Math.ceil((offset * 8) / 6);
    const end = Math.floor(((offset + bytes.length) * 8) / 6);
    const core = encoded.slice(start, end);
    spellings.push(core, core.replaceAll('+', '-').replaceAll('/', '_'));
  }
  return spellings;
}

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
 * Resolves secret references in `value` (deeply). Returns the resolved value, the names that
 * could not be resolved and those whose value is too short to mask, so the loader can report them
 * all at once.
 */
export function resolveSecrets(
  value: unknown,
  source: SecretSource,
  store: SecretStore,
): { value: unknown; missing: string[]; tooShort: string[] } {
  const missing: string[] = [];
  const tooShort: string[] = [];
  const resolveString = (text: string): string =>
    text.replace(SECRET_REFERENCE, (_match, name: string) => {
      const secret = readSecret(name, source);
      if (secret === undefined) {
        missing.push(name);
        return '';
      }
      if (secret.length < MIN_SECRET_LENGTH) {
        tooShort.push(name);
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
  return { value: walk(value), missing, tooShort };
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
