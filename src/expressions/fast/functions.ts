/**
 * The JSONata 2.2 built-in functions the fast path evaluates itself, each called with exactly one
 * argument (jsonata.js `functions.js` and the signature check of `signature.js`, ported).
 *
 * Each port takes the argument's value (undefined for "no match") and returns the result,
 * undefined, or FALLBACK. It returns FALLBACK wherever JSONata would throw — a signature mismatch
 * (T0410), an array that is not all numbers (T0412), an uncastable string (D3030) — or would
 * return a non-finite number, so that errors always come from JSONata itself.
 *
 * Undefined is not uniform across them (checked against JSONata): `$count` gives 0, `$exists`
 * false, every other one undefined — `$sum(nothing)` included.
 */
import { FALLBACK, type Fallback } from './fallback.js';
import { jsonataBoolean, jsonataString } from './semantics.js';

export type Builtin = (arg: unknown) => unknown;

/**
 * `$max`/`$min` call Math.max.apply(Math, array), which throws a RangeError (stack size) somewhere
 * past 100,000 items. Below this length it certainly doesn't; above it, JSONata decides.
 */
const MAX_SPREAD = 10_000;

/** The `a<n>` signature: undefined stays undefined, a number becomes [number], an array must hold numbers only. */
function numbers(arg: unknown): readonly number[] | undefined | Fallback {
  if (arg === undefined) return undefined;
  if (typeof arg === 'number') return [arg];
  if (!Array.isArray(arg)) return FALLBACK; // T0412
  for (let i = 0; i < arg.length; i++) if (typeof arg[i] !== 'number') return FALLBACK; // T0412
  return arg as number[];
}

/** A number JSONata would return, or FALLBACK when it is NaN or ±Infinity (the slow path reports those). */
function finite(value: number): number | Fallback {
  return Number.isFinite(value) ? value : FALLBACK;
}

/** Adds in JSONata's order (forEach from a total of 0), so float rounding and -0 come out the same. */
function total(values: readonly number[]): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i] as number;
  return sum;
}

function count(arg: unknown): number {
  if (arg === undefined) return 0;
  return Array.isArray(arg) ? arg.length : 1; // `<a:n>`: any other value is a singleton array
}

function sum(arg: unknown): unknown {
  const values = numbers(arg);
  if (values === undefined || values === FALLBACK) return values;
  return finite(total(values));
}

function extreme(pick: (...values: number[]) => number): Builtin {
  return (arg) => {
    const values = numbers(arg);
    if (values === undefined || values === FALLBACK) return values;
    if (values.length === 0) return undefined;
    if (values.length > MAX_SPREAD) return FALLBACK;
    return finite(pick(...values));
  };
}

function average(arg: unknown): unknown {
  const values = numbers(arg);
  if (values === undefined || values === FALLBACK) return values;
  if (values.length === 0) return undefined;
  return finite(total(values) / values.length);
}

function string(arg: unknown): unknown {
  return arg === undefined ? undefined : jsonataString(arg);
}

/** Functions with the `<s-…>` signature: a string or undefined, anything else is T0410. */
function onString(fn: (value: string) => unknown): Builtin {
  return (arg) => {
    if (arg === undefined) return undefined;
    return typeof arg === 'string' ? fn(arg) : FALLBACK;
  };
}

/** `$length` counts code points (stringToArray iterates the string), not UTF-16 units. */
function codePoints(value: string): number {
  let n = 0;
  for (const _ of value) n++;
  return n;
}

/** `$trim`: runs of space, tab, CR and LF become one space, then one leading and one trailing space go. */
function trim(value: string): string {
  let result = value.replace(/[ \t\n\r]+/gm, ' ');
  if (result.charAt(0) === ' ') result = result.substring(1);
  if (result.charAt(result.length - 1) === ' ') result = result.substring(0, result.length - 1);
  return result;
}

function not(arg: unknown): unknown {
  const value = jsonataBoolean(arg);
  return value === undefined || value === FALLBACK ? value : !value;
}

const DECIMAL = /^-?[0-9]+(\.[0-9]+)?([Ee][-+]?[0-9]+)?$/;
/**
 * Copied as JSONata has it, precedence slip included: `^` binds to the hex branch only and `$` to
 * the binary one only, so 'x0o7' passes and casts to NaN. Keep it, or the results would differ.
 */
const PREFIXED = /^(0[xX][0-9A-Fa-f]+)|(0[oO][0-7]+)|(0[bB][0-1]+)$/;

/** `$number` (signature `<(nsb)-:n>`): null, arrays and objects are T0410, an uncastable string D3030. */
function number(arg: unknown): unknown {
  if (arg === undefined) return undefined;
  if (typeof arg === 'number') return finite(arg);
  if (typeof arg === 'boolean') return arg ? 1 : 0;
  if (typeof arg !== 'string') return FALLBACK;
  if (DECIMAL.test(arg) && !Number.isNaN(parseFloat(arg)) && Number.isFinite(Number(arg))) return finite(parseFloat(arg));
  if (PREFIXED.test(arg)) return finite(Number(arg));
  return FALLBACK;
}

/** By JSONata name (without the `$`). */
export const BUILTINS: ReadonlyMap<string, Builtin> = new Map<string, Builtin>([
  ['count', count],
  ['sum', sum],
  ['max', extreme(Math.max)],
  ['min', extreme(Math.min)],
  ['average', average],
  ['string', string],
  ['length', onString(codePoints)],
  ['uppercase', onString((value) => value.toUpperCase())],
  ['lowercase', onString((value) => value.toLowerCase())],
  ['trim', onString(trim)],
  ['exists', (arg) => arg !== undefined],
  ['boolean', jsonataBoolean],
  ['not', not],
  ['number', number],
]);
