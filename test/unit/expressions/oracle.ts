/**
 * Test helpers comparing flowd's fast path with JSONata itself (the oracle).
 */
import jsonata from 'jsonata';
import { expect } from 'vitest';
import { compileFast } from '../../../src/expressions/fast/compile-fast.js';
import { FALLBACK } from '../../../src/expressions/fast/fallback.js';

export type Outcome = { ok: true; value: unknown } | { ok: false; code: string | undefined; message: string };

/** Deep copy into plain JSON-like values: JSONata sequences become plain arrays, null-prototype objects ordinary ones. */
export function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      Object.defineProperty(out, key, {
        value: plain((value as Record<string, unknown>)[key]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return value;
}

/** What plain JSONata 2 (no options, no hooks) gives. */
export async function oracle(source: string, scope: unknown): Promise<Outcome> {
  try {
    return { ok: true, value: plain(await jsonata(source).evaluate(scope)) };
  } catch (error) {
    const e = error as { code?: string; message?: string };
    return { ok: false, code: e.code, message: String(e.message) };
  }
}

/** No limits, as in plain JSONata. */
export const UNLIMITED = { maxSequence: () => Number.POSITIVE_INFINITY, maxChars: () => Number.POSITIVE_INFINITY };

/** The fast function alone (no fallback), or undefined when the form is not compiled. Sequences and strings unlimited, as in plain JSONata. */
export function fastFunction(source: string): ((scope: unknown) => unknown) | undefined {
  const fn = compileFast(jsonata(source).ast(), UNLIMITED);
  return fn === undefined ? undefined : (scope: unknown) => fn(scope as Record<string, unknown>);
}

export { FALLBACK };

/**
 * Runs the fast function and the oracle on one scope. When the fast function answers (no
 * fallback), JSONata must give the same value — not throw. Returns whether the fast path answered.
 */
export async function expectFastMatchesJsonata(source: string, scope: unknown): Promise<boolean> {
  const fast = fastFunction(source);
  expect(fast, `expected ${source} to have a fast path`).toBeDefined();
  const value = fast?.(scope);
  if (value === FALLBACK) return false;
  const expected = await oracle(source, scope);
  expect(expected, `JSONata threw for ${source} where the fast path answered ${JSON.stringify(value)}`).toMatchObject({ ok: true });
  if (expected.ok) expect(plain(value), `${source} on ${JSON.stringify(scope)}`).toEqual(expected.value);
  return true;
}

/** True if any number inside is NaN or ±Infinity (what the result walk refuses). */
export function containsNonFinite(value: unknown): boolean {
  if (typeof value === 'number') return !Number.isFinite(value);
  if (Array.isArray(value)) return value.some(containsNonFinite);
  if (value !== null && typeof value === 'object') return Object.values(value).some(containsNonFinite);
  return false;
}
