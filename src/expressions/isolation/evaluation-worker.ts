/**
 * The entry of an expression worker thread: compiles each JSONata source once (cached) and
 * evaluates it under the same time, depth and size guard as ever (bounded-evaluation.ts),
 * answering a plain JSON value or an ExpressionError as data. Whatever an evaluation does here —
 * one built-in running for seconds, a backtracking regex, a huge allocation — it stalls or kills
 * only this thread; the main thread terminates it at the deadline (worker-pool.ts).
 */
import { parentPort } from 'node:worker_threads';
import jsonata from 'jsonata';
import { LRUCache } from 'lru-cache';
import { ExpressionError } from '../../errors.js';
import { evaluateBounded, installGuardHook } from '../bounded-evaluation.js';
import { syntaxError } from '../jsonata-errors.js';
import { getExpressionLimits, jsonataOptions, setExpressionLimits, type ExpressionLimits } from '../limits.js';
import { lowerThreadPriority } from './thread-priority.js';
import { WORKER_READY, type EvaluationAnswer, type EvaluationRequest, type SerializedExpressionError } from './protocol.js';

/** Sources are the flows' own expressions, compiled at load: a few thousand cover any deployment. */
const compiled = new LRUCache<string, jsonata.Expression>({ max: 5000 });

function expressionFor(source: string, where: string): jsonata.Expression {
  let expression = compiled.get(source);
  if (expression === undefined) {
    try {
      expression = jsonata(source, jsonataOptions);
    } catch (error) {
      throw syntaxError(error, source, where);
    }
    installGuardHook(expression);
    compiled.set(source, expression);
  }
  return expression;
}

function applyLimits(limits: ExpressionLimits): void {
  const current = getExpressionLimits();
  if ((Object.keys(limits) as (keyof ExpressionLimits)[]).some((key) => limits[key] !== current[key])) setExpressionLimits(limits);
}

function serialize(error: unknown): SerializedExpressionError {
  if (error instanceof ExpressionError) return { message: error.message, details: error.details };
  return { message: `expression evaluation failed: ${error instanceof Error ? error.name : typeof error}`, details: undefined };
}

async function answer(request: EvaluationRequest): Promise<EvaluationAnswer> {
  try {
    applyLimits(request.limits);
    const value = await evaluateBounded(expressionFor(request.source, request.where), request.scope, request.where, request.source);
    return { id: request.id, value };
  } catch (error) {
    return { id: request.id, error: serialize(error) };
  }
}

lowerThreadPriority();
const port = parentPort;
if (port === null) throw new Error('evaluation-worker.ts runs only as a worker thread');
port.on('message', (request: EvaluationRequest) => {
  void answer(request).then((reply) => {
    try {
      port.postMessage(reply);
    } catch {
      // A value that cannot cross threads (only a scope value of a class could): report, do not hang.
      port.postMessage({ id: request.id, error: { message: `${request.where}: expression "${request.source}" produced a value that is not plain JSON`, details: undefined } });
    }
  });
});
port.postMessage(WORKER_READY);
