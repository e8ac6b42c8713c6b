/**
 * Bounds on every JSONata (slow-path) evaluation — SECURITY rule 3: expressions are code.
 *
 * The values live in one module-level object because the service configures them once from
 * the environment at start-up; every evaluation takes a snapshot when it starts, so changing
 * them never affects an evaluation already running.
 */
import { ConfigurationError } from '../errors.js';

export interface ExpressionLimits {
  /** Evaluation time of one expression, in milliseconds (time spent yielded to the event loop excluded). */
  readonly timeoutMs: number;
  /** Nesting of JSONata evaluation steps (recursion of user functions, deeply nested expressions). */
  readonly maxDepth: number;
  /** Values in a result (every array item, object member and scalar counts one); also the longest sequence JSONata may build. */
  readonly maxResultNodes: number;
  /** Total length (UTF-16 code units) of all strings in a result, object keys included; also the longest intermediate string. */
  readonly maxResultChars: number;
  /** After this much continuous evaluation an expression yields to the event loop, so a slow one never stalls other requests. */
  readonly sliceMs: number;
}

export const DEFAULT_EXPRESSION_LIMITS: ExpressionLimits = Object.freeze({
  timeoutMs: 50,
  maxDepth: 200,
  maxResultNodes: 100_000,
  maxResultChars: 1_048_576,
  sliceMs: 10,
});

let current: ExpressionLimits = DEFAULT_EXPRESSION_LIMITS;

/**
 * Options object handed to every `jsonata()` call. JSONata reads `sequence` at evaluation time,
 * so updating it here applies to expressions compiled earlier. It stops the range operator and
 * path mapping from allocating sequences longer than `maxResultNodes` before our hooks could see them.
 * (JSONata's own `timeout`/`stack` options are deliberately not used: our hooks do that with
 * performance.now(), depth tracking and event-loop yielding.)
 */
export const jsonataOptions: { sequence: number } = { sequence: current.maxResultNodes };

export function getExpressionLimits(): ExpressionLimits {
  return current;
}

/** Changes some limits; the rest keep their value. Throws ConfigurationError for a non-positive or non-finite value. */
export function setExpressionLimits(partial: Partial<ExpressionLimits>): ExpressionLimits {
  const next = { ...current, ...partial };
  const issues = (Object.keys(DEFAULT_EXPRESSION_LIMITS) as (keyof ExpressionLimits)[])
    .filter((key) => {
      const value = next[key];
      return typeof value !== 'number' || !Number.isFinite(value) || value <= 0;
    })
    .map((key) => ({ path: `expressions.${key}`, message: `must be a positive finite number, got ${String(next[key])}` }));
  if (issues.length > 0) throw new ConfigurationError(issues);
  current = Object.freeze(next);
  jsonataOptions.sequence = current.maxResultNodes;
  return current;
}

/** Restores the defaults (tests use it to undo setExpressionLimits). */
export function resetExpressionLimits(): ExpressionLimits {
  current = DEFAULT_EXPRESSION_LIMITS;
  jsonataOptions.sequence = current.maxResultNodes;
  return current;
}
