/**
 * Fast evaluation of paths of plain names (`input.customer_id`, `$.phases.reserve.body.id`).
 *
 * The common case — every step meets an object — is a plain property walk. When a step meets an
 * array, JSONata maps the rest of the path over it and flattens; that is ported from jsonata.js
 * (`evaluatePath`, `evaluateStep`, `fn.lookup` and the sequence post-processing of `evaluate`)
 * rather than approximated, and the property-based tests compare it with JSONata.
 */
import { isJsonataFunction } from '../result.js';
import { FALLBACK } from './fallback.js';

/** A JSONata sequence produced by a step (as opposed to an array that is part of the data). */
class Sequence {
  constructor(readonly items: unknown[]) {}
}

/** Arrays JSONata itself flagged (a result that was not normalised) behave specially in JSONata: don't guess. */
function isFlaggedArray(value: unknown[]): boolean {
  const flags = value as { sequence?: unknown; cons?: unknown; outerWrapper?: unknown };
  return flags.sequence !== undefined || flags.cons !== undefined || flags.outerWrapper !== undefined;
}

/** `fn.lookup` on a non-array: own properties of non-function objects only. */
function member(value: unknown, key: string): unknown {
  if (value === null || typeof value !== 'object' || isJsonataFunction(value)) return undefined;
  return Object.prototype.hasOwnProperty.call(value, key) ? (value as Record<string, unknown>)[key] : undefined;
}

/** `fn.lookup` on an array: maps over the items, flattening array results one level, recursively. */
function lookupInArray(array: unknown[], key: string, out: unknown[]): boolean {
  if (isFlaggedArray(array)) return false;
  for (let i = 0; i < array.length; i++) {
    const item = array[i];
    if (Array.isArray(item)) {
      if (!lookupInArray(item, key, out)) return false;
      continue;
    }
    const value = member(item, key);
    if (value === undefined) continue;
    if (Array.isArray(value)) {
      if (isFlaggedArray(value)) return false;
      for (let j = 0; j < value.length; j++) out.push(value[j]);
    } else {
      out.push(value);
    }
  }
  return true;
}

/** evaluate(nameNode, item): lookup, then a sequence of 0 / 1 / more items becomes undefined / the item / the sequence. */
function nameStep(item: unknown, key: string, maxSequence: number): unknown {
  if (!Array.isArray(item)) {
    const value = member(item, key);
    return Array.isArray(value) && isFlaggedArray(value) ? FALLBACK : value;
  }
  const out: unknown[] = [];
  if (!lookupInArray(item, key, out) || out.length > maxSequence) return FALLBACK;
  if (out.length === 0) return undefined;
  return out.length === 1 ? out[0] : new Sequence(out);
}

/** Value of the whole path for a context that is a single value, or FALLBACK. */
export function evaluateNamePath(start: unknown, keys: readonly string[], maxSequence: number): unknown {
  // Fast walk while each step meets a non-array: JSONata's sequences here all hold one item.
  let value = start;
  for (let i = 0; i < keys.length; i++) {
    if (Array.isArray(value)) return mapPath([value], keys, i, maxSequence);
    value = member(value, keys[i] as string);
    if (value === undefined) return undefined;
    if (Array.isArray(value)) {
      if (isFlaggedArray(value)) return FALLBACK;
      // evaluateStep: on the last step a single array result is returned as it is (not flattened).
      if (i === keys.length - 1) return value;
      if (value.length > maxSequence) return FALLBACK;
      return mapPath(value, keys, i + 1, maxSequence);
    }
  }
  return finish(value);
}

/** The general case: `input` is the current sequence, `from` the next step. Port of evaluatePath/evaluateStep. */
function mapPath(input: unknown[], keys: readonly string[], from: number, maxSequence: number): unknown {
  let sequence = input;
  for (let i = from; i < keys.length; i++) {
    const key = keys[i] as string;
    const results: unknown[] = [];
    for (let j = 0; j < sequence.length; j++) {
      const result = nameStep(sequence[j], key, maxSequence);
      if (result === FALLBACK) return FALLBACK;
      if (result !== undefined) results.push(result);
    }
    const only = results[0];
    if (i === keys.length - 1 && results.length === 1 && Array.isArray(only)) {
      if (isFlaggedArray(only)) return FALLBACK;
      return only; // a data array reached by the last step is returned as it is
    }
    const next: unknown[] = [];
    for (const result of results) {
      if (result instanceof Sequence) {
        for (const item of result.items) next.push(item);
      } else if (Array.isArray(result)) {
        if (isFlaggedArray(result)) return FALLBACK;
        for (let k = 0; k < result.length; k++) next.push(result[k]);
      } else {
        next.push(result);
      }
    }
    if (next.length > maxSequence) return FALLBACK;
    if (next.length === 0) return undefined;
    sequence = next;
  }
  // evaluate() post-processing of the path's sequence: 1 item is unwrapped, more stay an array.
  return sequence.length === 1 ? finish(sequence[0]) : sequence;
}

/** The value, or FALLBACK. */
function finish(value: unknown): unknown {
  // A non-finite number can't come from JSON; JSONata's later handling of it is not worth mimicking.
  if (typeof value === 'number' && !Number.isFinite(value)) return FALLBACK;
  return value;
}
