import type { SecretStore } from '../flows/secrets.js';
import { redactSensitive, type SensitiveFieldMatcher } from './sensitive-fields.js';

/**
 * What every view that leaves the process applies to values (records, log lines, stored rows,
 * callbacks): configured secret values masked, sensitive fields redacted by name. Copy-on-write,
 * and remembered per object: the same input or output shown by the answer, stored, and logged is
 * cleaned once.
 */
export function createCleaner(secrets: SecretStore, isSensitive: SensitiveFieldMatcher): (value: unknown) => unknown {
  const cleaned = new WeakMap<object, unknown>();
  return (value) => {
    if (typeof value !== 'object' || value === null) return typeof value === 'string' ? secrets.mask(value) : value;
    const known = cleaned.get(value);
    if (known !== undefined) return known;
    const clean = redactSensitive(secrets.mask(value), isSensitive);
    cleaned.set(value, clean);
    return clean;
  };
}
