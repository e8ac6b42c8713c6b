import type { SecretStore } from '../flows/secrets.js';
import { redactSensitive, type SensitiveFieldMatcher } from './sensitive-fields.js';

/**
 * What every view that leaves the process applies to values (records, log lines, stored rows,
 * callbacks): configured secret values masked, sensitive fields redacted by name. Copy-on-write,
 * and remembered per object: the same input or output shown by the answer and logged is cleaned
 * once. Objects cleaned only once (journal entries, as they are stored) are not remembered: a
 * WeakMap entry per journal entry cost more in garbage collection than it saved.
 */
export function createCleaner(secrets: SecretStore, isSensitive: SensitiveFieldMatcher): Cleaner {
  const cleaned = new WeakMap<object, unknown>();
  const cleanWhole = (value: unknown): unknown => redactSensitive(secrets.mask(value), isSensitive);
  const clean = (value: unknown): unknown => {
    if (typeof value !== 'object' || value === null) return typeof value === 'string' ? secrets.mask(value) : value;
    const known = cleaned.get(value);
    if (known !== undefined) return known;
    const result = cleanWhole(value);
    cleaned.set(value, result);
    return result;
  };
  return Object.assign(clean, { once: cleanWhole });
}

/** The cleaning function, and the same for an object cleaned only once (not remembered). */
export interface Cleaner {
  (value: unknown): unknown;
  /** For an object no other view cleans again (a journal entry as stored). */
  readonly once: (value: object) => unknown;
}

/** A Cleaner that changes nothing (tests, tools that show values as they are). */
export const NO_CLEANING: Cleaner = Object.assign((value: unknown): unknown => value, { once: (value: object): unknown => value });
