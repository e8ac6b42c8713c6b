/**
 * Ports of the JSONata 2.2 runtime functions the fast path needs (jsonata.js: `fn.string`,
 * `fn.boolean`, `isDeepEqual`, `evaluateNumericExpression`, `evaluateComparisonExpression`),
 * kept line-for-line where possible. Where JSONata would throw, these return FALLBACK so that the
 * real JSONata produces the real error.
 */
import { isJsonataFunction } from '../result.js';
import { FALLBACK, type Fallback } from './fallback.js';

function jsonataNumber(value: number): number {
  // fn.string's replacer: non-integers are rounded to 15 significant digits.
  return Number.isInteger(value) ? value : Number(value.toPrecision(15));
}

/** JSONata's `isNumeric`, minus the D1001 throw on ±Infinity (that case is FALLBACK). */
function stringifyReplacer(_key: string, val: unknown): unknown {
  if (typeof val === 'number' && !Number.isNaN(val)) {
    if (!Number.isFinite(val)) throw new RangeError('non-finite'); // JSONata throws D1001 here
    return jsonataNumber(val);
  }
  return val !== null && val !== undefined && isJsonataFunction(val) ? '' : val;
}

/** `$string(value)` for a defined value, as `&` applies it to each operand. */
export function jsonataString(value: unknown): string | Fallback {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
      // JSON.stringify of a finite number is String(number); JSONata throws D3001 for non-finite ones.
      return Number.isFinite(value) ? String(jsonataNumber(value)) : FALLBACK;
    case 'boolean':
      return value ? 'true' : 'false';
    default:
      break;
  }
  if (value === null) return 'null';
  if (isJsonataFunction(value)) return '';
  if (Array.isArray(value) && (value as { outerWrapper?: unknown }).outerWrapper) return FALLBACK;
  try {
    const text: unknown = JSON.stringify(value, stringifyReplacer);
    return typeof text === 'string' ? text : FALLBACK;
  } catch {
    return FALLBACK; // D1001 inside, a BigInt, a cycle: let JSONata report it
  }
}

/** `$boolean(value)`: JSONata's effective boolean value; undefined stays undefined. */
export function jsonataBoolean(value: unknown): boolean | undefined | Fallback {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) {
    if (value.length === 1) return jsonataBoolean(value[0]);
    let any = false;
    // JSONata evaluates every item (Array.filter), so a throwing item throws even after a true one.
    for (let i = 0; i < value.length; i++) {
      const item = jsonataBoolean(value[i]);
      if (item === FALLBACK) return FALLBACK;
      if (item === true) any = true;
    }
    return any;
  }
  switch (typeof value) {
    case 'string':
      return value.length > 0;
    case 'number':
      if (Number.isNaN(value)) return false;
      return Number.isFinite(value) ? value !== 0 : FALLBACK;
    case 'boolean':
      return value;
    case 'object':
      if (value === null || isJsonataFunction(value)) return false;
      return Object.keys(value).length > 0;
    default:
      return false;
  }
}

/** JSONata's `=`: deep equality. FALLBACK when an array meets a non-array object, where JSONata's own sequence flags would be compared. */
export function jsonataDeepEqual(lhs: unknown, rhs: unknown): boolean | Fallback {
  if (lhs === rhs) return true;
  if (typeof lhs !== 'object' || typeof rhs !== 'object' || lhs === null || rhs === null) return false;
  const lArray = Array.isArray(lhs);
  const rArray = Array.isArray(rhs);
  if (lArray !== rArray) return FALLBACK;
  if (lArray && rArray) {
    if (lhs.length !== rhs.length) return false;
    for (let i = 0; i < lhs.length; i++) {
      const same = jsonataDeepEqual(lhs[i], rhs[i]);
      if (same !== true) return same;
    }
    return true;
  }
  const lKeys = Object.getOwnPropertyNames(lhs).sort();
  const rKeys = Object.getOwnPropertyNames(rhs).sort();
  if (lKeys.length !== rKeys.length) return false;
  for (let i = 0; i < lKeys.length; i++) if (lKeys[i] !== rKeys[i]) return false;
  for (const key of lKeys) {
    const same = jsonataDeepEqual((lhs as Record<string, unknown>)[key], (rhs as Record<string, unknown>)[key]);
    if (same !== true) return same;
  }
  return true;
}

export type ArithmeticOperator = '+' | '-' | '*' | '/' | '%';

/** `+ - * / %`: undefined if an operand is undefined; FALLBACK where JSONata throws (T2001/T2002/D1001) or the result is not finite. */
export function jsonataArithmetic(op: ArithmeticOperator, lhs: unknown, rhs: unknown): number | undefined | Fallback {
  if (lhs !== undefined && (typeof lhs !== 'number' || !Number.isFinite(lhs))) return FALLBACK;
  if (rhs !== undefined && (typeof rhs !== 'number' || !Number.isFinite(rhs))) return FALLBACK;
  if (lhs === undefined || rhs === undefined) return undefined;
  let result: number;
  switch (op) {
    case '+':
      result = lhs + rhs;
      break;
    case '-':
      result = lhs - rhs;
      break;
    case '*':
      result = lhs * rhs;
      break;
    case '/':
      result = lhs / rhs;
      break;
    case '%':
      result = lhs % rhs;
      break;
  }
  // JSONata returns NaN/Infinity here and fails later; let it decide.
  return Number.isFinite(result) ? result : FALLBACK;
}

export type ComparisonOperator = '<' | '<=' | '>' | '>=';

/** `< <= > >=` on two strings or two numbers; undefined if either is undefined; FALLBACK where JSONata throws T2009/T2010. */
export function jsonataCompare(op: ComparisonOperator, lhs: unknown, rhs: unknown): boolean | undefined | Fallback {
  const lType = typeof lhs;
  const rType = typeof rhs;
  const lComparable = lType === 'undefined' || lType === 'string' || lType === 'number';
  const rComparable = rType === 'undefined' || rType === 'string' || rType === 'number';
  if (!lComparable || !rComparable) return FALLBACK;
  if (lhs === undefined || rhs === undefined) return undefined;
  if (lType !== rType) return FALLBACK;
  const l = lhs as string | number;
  const r = rhs as string | number;
  switch (op) {
    case '<':
      return l < r;
    case '<=':
      return l <= r;
    case '>':
      return l > r;
    case '>=':
      return l >= r;
  }
}
