import type { SecretStore } from '../flows/secrets.js';
import { REDACTED, redactSensitive, type SensitiveFieldMatcher } from './sensitive-fields.js';

/**
 * What every view that leaves the process applies to values (records, log lines, stored rows,
 * callbacks): configured secret values masked, sensitive fields redacted by name. Copy-on-write,
 * and remembered per object: the same input or output shown by the answer, stored, and logged is
 * cleaned once. An object's own fields are cleaned one by one through the same memory, so a
 * journal entry and the record shown both reuse the cleaning of the input and outputs they hold.
 */
export function createCleaner(secrets: SecretStore, isSensitive: SensitiveFieldMatcher): Cleaner {
  const cleaned = new WeakMap<object, unknown>();
  const remembered = (value: object, clean: (value: object) => unknown): unknown => {
    const known = cleaned.get(value);
    if (known !== undefined) return known;
    const result = clean(value);
    cleaned.set(value, result);
    return result;
  };
  const cleanWhole = (value: object | string): unknown => redactSensitive(secrets.mask(value), isSensitive);
  const cleanValue = (value: unknown): unknown => {
    if (typeof value !== 'object' || value === null) return typeof value === 'string' ? secrets.mask(value) : value;
    return remembered(value, cleanWhole);
  };
  // One level by hand (secrets are masked in values, never in keys; sensitive names redact the whole field).
  const cleanFields = (value: object): unknown => {
    const source = value as Record<string, unknown>;
    const keys = Object.keys(source);
    let out: Record<string, unknown> | undefined;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const item = source[key];
      const shown = isSensitive(key) ? REDACTED : typeof item === 'string' ? cleanWhole(item) : cleanValue(item);
      if (out === undefined) {
        if (shown === item) continue;
        out = {};
        for (let j = 0; j < i; j++) defineField(out, keys[j]!, source[keys[j]!]);
      }
      defineField(out, key, shown);
    }
    return out ?? value;
  };
  const clean = (value: unknown): unknown => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return cleanValue(value);
    return remembered(value, cleanFields);
  };
  return Object.assign(clean, { fieldsOf: cleanFields });
}

/** The cleaning function, and the same for an object cleaned only once (not remembered). */
export interface Cleaner {
  (value: unknown): unknown;
  /** For an object no other view cleans again (a journal entry): its fields go through the memory, the object itself does not. */
  readonly fieldsOf: (value: object) => unknown;
}

/** `clean(value)`, through `fieldsOf` when `clean` is a Cleaner: for objects cleaned once. */
export function cleanOnce(clean: (value: unknown) => unknown, value: object): unknown {
  const fieldsOf = (clean as Partial<Cleaner>).fieldsOf;
  return fieldsOf === undefined ? clean(value) : fieldsOf(value);
}

/** defineProperty: a `__proto__` field stays a plain field, never a prototype. */
function defineField(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
