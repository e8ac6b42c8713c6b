/**
 * Where slow-path (JSONata) evaluations run: in a pool of worker threads terminated at their
 * deadline (SECURITY rule 12), so nothing an expression does can stall the event loop. The
 * plain-JavaScript fast path never comes here.
 *
 * Configured once at start (`setExpressionIsolation`); `workers: 0` evaluates in-process as
 * before 0.2 (no liveness guarantee: one built-in call can block the process). The pool is one per
 * process, created on first use; its idle threads never keep the process alive.
 */
import type jsonata from 'jsonata';
import { ConfigurationError } from '../../errors.js';
import { evaluateBounded } from '../bounded-evaluation.js';
import { getExpressionLimits } from '../limits.js';
import { ExpressionWorkerPool, UncloneableScopeError } from './worker-pool.js';

export interface ExpressionIsolation {
  /** Worker threads evaluating slow-path expressions; 0 evaluates in-process (unsafe: no termination). */
  readonly workers: number;
  /** Time past EXPRESSION_TIMEOUT_MS after which a worker still busy is terminated. */
  readonly marginMs: number;
}

export const DEFAULT_EXPRESSION_ISOLATION: ExpressionIsolation = Object.freeze({ workers: 2, marginMs: 100 });

/** Evaluations waiting per worker before more are refused (FLOWD_ERR_OVERLOADED). */
const QUEUE_PER_WORKER = 256;

/**
 * Heap of one worker. A scope is at most a request body plus the phase outputs (MAX_RECORD_BYTES),
 * a result at most 1 MiB of text: 256 MiB leaves room for JSONata's copies, and stops an expression
 * that allocates without bound long before the process would run out.
 */
const WORKER_HEAP_MB = 256;

/**
 * Whose evaluations these are (the caller's tenant), by the scope's `execution` object (shared by
 * every copy of an execution's scope): the pool serves callers in turn, so one flooding it with
 * slow expressions does not hold up the others. Expressions cannot see it, and it is not copied
 * to the worker.
 */
const groups = new WeakMap<object, string>();

/** Names the tenant an execution's evaluations are served for (`scope.execution`). */
export function setEvaluationGroup(execution: object, group: string): void {
  groups.set(execution, group);
}

function groupOf(scope: Readonly<Record<string, unknown>>): string {
  const execution = scope['execution'];
  return typeof execution === 'object' && execution !== null ? (groups.get(execution) ?? '') : '';
}

let settings: ExpressionIsolation = DEFAULT_EXPRESSION_ISOLATION;
let pool: ExpressionWorkerPool | undefined;

export function getExpressionIsolation(): ExpressionIsolation {
  return settings;
}

/** Changes the isolation settings; a running pool is closed once its evaluations ended, and a new one starts on next use. */
export function setExpressionIsolation(partial: Partial<ExpressionIsolation>): ExpressionIsolation {
  const next = { ...settings, ...partial };
  const issues = [];
  if (!Number.isInteger(next.workers) || next.workers < 0) issues.push({ path: 'expressions.workers', message: `must be a whole number ≥ 0, got ${next.workers}` });
  if (!Number.isFinite(next.marginMs) || next.marginMs <= 0) issues.push({ path: 'expressions.marginMs', message: `must be a positive number, got ${next.marginMs}` });
  if (issues.length > 0) throw new ConfigurationError(issues);
  if (next.workers !== settings.workers || next.marginMs !== settings.marginMs) {
    void pool?.close();
    pool = undefined;
  }
  settings = Object.freeze(next);
  return settings;
}

/** Starts the worker threads now (the service does at start), instead of at the first evaluation. */
export function startExpressionWorkers(): void {
  if (settings.workers > 0) workerPool().start();
}

/** Terminates the worker threads (they are started again on next use). */
export async function closeExpressionWorkers(): Promise<void> {
  const closing = pool;
  pool = undefined;
  await closing?.close();
}

function workerPool(): ExpressionWorkerPool {
  pool ??= new ExpressionWorkerPool({
    size: settings.workers,
    marginMs: settings.marginMs,
    maxQueue: settings.workers * QUEUE_PER_WORKER,
    resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
  });
  return pool;
}

/**
 * Evaluates `expression` (compiled from `source`) against `scope` in a worker, or in-process when
 * isolation is off. `roots` names the scope members the expression reads (undefined: all of it);
 * only those are copied to the worker. A scope holding a value no thread can receive (a function
 * from a custom adapter) is evaluated in-process: flow data from requests and upstreams is JSON.
 */
export async function evaluateIsolated(
  expression: jsonata.Expression,
  scope: Readonly<Record<string, unknown>>,
  where: string,
  source: string,
  roots: readonly string[] | undefined,
): Promise<unknown> {
  if (settings.workers === 0) return evaluateBounded(expression, scope, where, source);
  try {
    return await workerPool().run({ source, where, scope: roots === undefined ? scope : pick(scope, roots), limits: getExpressionLimits() }, groupOf(scope));
  } catch (error) {
    if (error instanceof UncloneableScopeError) return evaluateBounded(expression, scope, where, source);
    throw error;
  }
}

function pick(scope: Readonly<Record<string, unknown>>, roots: readonly string[]): Record<string, unknown> {
  const slice: Record<string, unknown> = {};
  for (const root of roots) if (root !== '__proto__' && Object.hasOwn(scope, root)) slice[root] = scope[root];
  return slice;
}
