/**
 * The fast path's escape hatch. A fast function returns FALLBACK whenever it meets a value for
 * which matching JSONata exactly would be hard (an error JSONata would raise, a non-finite
 * number, an array flagged by JSONata itself, a sequence longer than the limit…); the caller then
 * runs the real JSONata evaluation for that call. Being conservative here is always safe: a
 * fallback costs microseconds, a different answer would be a bug.
 */
export const FALLBACK: unique symbol = Symbol('flowd.expressions.fallback');
export type Fallback = typeof FALLBACK;

export type Scope = Readonly<Record<string, unknown>>;

/** Returns the expression's value, undefined for JSONata's "no match", or FALLBACK. */
export type FastFunction = (scope: Scope) => unknown;
