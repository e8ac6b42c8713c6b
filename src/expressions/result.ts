/**
 * Turns what JSONata returned into a plain JSON value, within the size limits.
 *
 * JSONata hands back arrays carrying a `sequence` flag (and `keepSingleton`, `push` overrides…),
 * objects with a null prototype, and can hand back function values (`$sum`, lambdas, regexes).
 * Callers must only ever see plain JSON: fresh arrays, ordinary objects, finite numbers. The walk
 * copies as it counts and stops as soon as a limit is passed, so a huge result costs at most
 * `maxResultNodes` steps before it is refused.
 */
import { ExpressionError } from '../errors.js';
import { MAX_VALUE_NESTING } from '../limits/json-nesting.js';
import type { ExpressionLimits } from './limits.js';

/** Nesting beyond this is refused: the copy recurses, and every serialiser after it too. */
const MAX_NESTING = MAX_VALUE_NESTING;

export interface ResultContext {
  readonly where: string;
  readonly source: string;
  readonly limits: ExpressionLimits;
}

/** JSONata marks its function values with these flags; any JS function is one too. */
export function isJsonataFunction(value: unknown): boolean {
  if (typeof value === 'function') return true;
  if (value === null || typeof value !== 'object') return false;
  const flags = value as { _jsonata_function?: unknown; _jsonata_lambda?: unknown };
  return flags._jsonata_function === true || flags._jsonata_lambda === true;
}

export function toPlainResult(value: unknown, context: ResultContext): unknown {
  const budget = { nodes: 0, chars: 0 };
  return copy(value, context, budget, 0);
}

function copy(value: unknown, context: ResultContext, budget: { nodes: number; chars: number }, nesting: number): unknown {
  if (++budget.nodes > context.limits.maxResultNodes) {
    throw sizeError(context, `more than ${context.limits.maxResultNodes} values`);
  }
  switch (typeof value) {
    case 'undefined':
    case 'boolean':
      return value;
    case 'string':
      countChars(value.length, context, budget);
      return value;
    case 'number':
      if (!Number.isFinite(value)) {
        throw new ExpressionError(
          `${context.where}: expression "${context.source}" produced ${String(value)}, which JSON cannot represent (division by zero?)`,
          { where: context.where, expression: context.source },
        );
      }
      return value;
    case 'object':
      break;
    default:
      throw notJson(context, typeof value === 'function' ? 'a function' : `a ${typeof value}`);
  }
  if (value === null) return null;
  if (isJsonataFunction(value)) throw notJson(context, 'a function');
  if (nesting >= MAX_NESTING) throw sizeError(context, `values nested more than ${MAX_NESTING} levels deep`);
  if (Array.isArray(value)) {
    const out: unknown[] = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) {
      const item = copy(value[i], context, budget, nesting + 1);
      out[i] = item === undefined ? null : item; // as JSON.stringify would send it
    }
    return out;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  // Dates and other class instances can only come from the scope (JSONata cannot make them): pass them through.
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    countChars(key.length, context, budget);
    const item = copy((value as Record<string, unknown>)[key], context, budget, nesting + 1);
    if (item === undefined) continue;
    if (key === '__proto__') {
      // An own data property, as JSON.parse would create it — assigning would replace the object's prototype.
      Object.defineProperty(out, key, { value: item, enumerable: true, writable: true, configurable: true });
    } else {
      out[key] = item;
    }
  }
  return out;
}

function countChars(length: number, context: ResultContext, budget: { nodes: number; chars: number }): void {
  budget.chars += length;
  if (budget.chars > context.limits.maxResultChars) {
    throw sizeError(context, `more than ${context.limits.maxResultChars} characters of text`);
  }
}

export function sizeError(context: { where: string; source: string }, what: string): ExpressionError {
  return new ExpressionError(
    `${context.where}: expression "${context.source}" exceeded its result size limit (${what})`,
    { where: context.where, expression: context.source },
    { details: { limit: 'size' } },
  );
}

function notJson(context: ResultContext, what: string): ExpressionError {
  return new ExpressionError(
    `${context.where}: expression "${context.source}" produced ${what}, which is not a JSON value`,
    { where: context.where, expression: context.source },
  );
}
