/**
 * Redaction by field name (redactSensitive) and masking of configured secret values
 * (SecretStore.mask) walk every stored record and log line, so they are copy-on-write: these tests
 * check the results against a plain deep-copying reference, and that clean data comes back as the
 * very same object (no copy).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SecretStore } from '../../src/flows/secrets.js';
import { createCleaner } from '../../src/observability/cleaner.js';
import { REDACTED, createSensitiveFieldMatcher, redactSensitive, redactSensitiveJsonText } from '../../src/observability/sensitive-fields.js';

const isSensitive = createSensitiveFieldMatcher(['internalRef']);

/** The reference: a full deep copy with the same rules. */
function reference(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.includes('":') || value.includes('=') ? redactSensitiveJsonText(value, isSensitive) : value;
  if (typeof value !== 'object' || value === null) return value;
  if (depth > 64) return REDACTED;
  if (Array.isArray(value)) return value.map((item) => reference(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    Object.defineProperty(out, key, { value: isSensitive(key) ? REDACTED : reference(item, depth + 1), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

const keys = fc.constantFrom('name', 'items', 'password', 'api_key', 'card-number', 'sku', 'internal_ref', 'note', '__proto__', 'pin', 'shipping');
const leaf = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.string(), fc.constantFrom('{"token":"t-1"}', 'a=b&access_token=zz', 'plain'));
const json = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, leaf, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.dictionary(keys, tie('value'), { maxKeys: 5 }),
})).value;

describe('redactSensitive', () => {
  it('equals the deep-copying reference for any JSON value', () => {
    fc.assert(
      fc.property(json, (value) => {
        expect(redactSensitive(value, isSensitive)).toEqual(reference(value));
      }),
      { numRuns: 500 },
    );
  });

  it('returns clean data itself, and copies only the path to a redacted field', () => {
    const clean = { order: { items: [{ sku: 'A-1', qty: 2 }], note: 'gift' }, at: '2026-11-25T10:00:00Z' };
    expect(redactSensitive(clean, isSensitive)).toBe(clean);

    const dirty = { order: { items: [{ sku: 'A-1' }], payment: { cardNumber: '4111' } }, customer: { id: 'c-1' } };
    const redacted = redactSensitive(dirty, isSensitive);
    expect(redacted).toEqual({ order: { items: [{ sku: 'A-1' }], payment: { cardNumber: REDACTED } }, customer: { id: 'c-1' } });
    expect(redacted).not.toBe(dirty);
    expect(redacted.order.items).toBe(dirty.order.items); // untouched branches are shared
    expect(redacted.customer).toBe(dirty.customer);
    expect(dirty.order.payment.cardNumber).toBe('4111'); // the original is never changed
  });

  it('keeps the field order and a `__proto__` field as a plain field', () => {
    const value = JSON.parse('{"a":1,"__proto__":{"polluted":true},"token":"x","z":2}') as Record<string, unknown>;
    const redacted = redactSensitive(value, isSensitive);
    expect(Object.keys(redacted)).toEqual(['a', '__proto__', 'token', 'z']);
    expect(Object.getPrototypeOf(redacted)).toBe(Object.prototype);
    expect(redacted['token']).toBe(REDACTED);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('replaces what is nested deeper than 64 levels', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 70; i++) deep = { next: deep };
    let node = redactSensitive(deep, isSensitive) as Record<string, unknown>;
    let levels = 0;
    while (typeof node === 'object') {
      node = node['next'] as Record<string, unknown>;
      levels += 1;
    }
    expect(node).toBe(REDACTED);
    expect(levels).toBe(65);
  });
});

describe('SecretStore.mask', () => {
  const secrets = new SecretStore();
  secrets.add('s3cr3t-value');
  const maskReference = (value: unknown): unknown => JSON.parse(JSON.stringify(value).replaceAll('s3cr3t-value', '[REDACTED]'));

  it('equals a deep-copying reference for any JSON value holding the secret anywhere', () => {
    const withSecret = fc.oneof(json, fc.constant('Bearer s3cr3t-value'), fc.constant({ nested: ['x', 's3cr3t-value!'] }));
    fc.assert(
      fc.property(fc.array(withSecret, { maxLength: 4 }), (value) => {
        expect(secrets.mask(value)).toEqual(maskReference(value));
      }),
      { numRuns: 300 },
    );
  });

  it('returns data without the secret itself, and shares what holds none', () => {
    const clean = { a: [1, 'two'], b: { c: 'three' } };
    expect(secrets.mask(clean)).toBe(clean);
    const value = { a: [1, 'two'], b: { c: 'key s3cr3t-value' } };
    const masked = secrets.mask(value);
    expect(masked).toEqual({ a: [1, 'two'], b: { c: 'key [REDACTED]' } });
    expect(masked.a).toBe(value.a);
    expect(value.b.c).toBe('key s3cr3t-value');
  });
});

describe('createCleaner (what the record, the stored journal and the logs show)', () => {
  const secrets = new SecretStore();
  secrets.add('s3cr3t-value');
  const whole = (value: unknown): unknown => redactSensitive(secrets.mask(value), isSensitive);
  const withSecret = fc.oneof(json, fc.constant('{"token":"s3cr3t-value"}'), fc.constant({ nested: ['x', 's3cr3t-value!'] }));

  it('gives what masking and redacting the whole value gives, remembered or once, also when its parts were cleaned before', () => {
    fc.assert(
      fc.property(fc.dictionary(keys, withSecret, { maxKeys: 5 }), fc.boolean(), (value, partsFirst) => {
        const clean = createCleaner(secrets, isSensitive);
        if (partsFirst) for (const part of Object.values(value)) clean(part);
        expect(clean.once(value)).toEqual(whole(value));
        expect(clean(value)).toEqual(whole(value));
        expect(clean(value)).toBe(clean(value));
      }),
      { numRuns: 500 },
    );
  });
});
