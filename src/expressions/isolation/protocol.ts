/**
 * Messages between the main thread and an expression worker (see worker-pool.ts). A worker runs
 * one evaluation at a time; `id` pairs an answer with its request.
 */
import type { ExpressionLimits } from '../limits.js';

export interface EvaluationRequest {
  readonly id: number;
  readonly source: string;
  readonly where: string;
  /** The part of the scope the expression can read (see scope-slice.ts). */
  readonly scope: Readonly<Record<string, unknown>>;
  readonly limits: ExpressionLimits;
}

/** An ExpressionError, as data: what crosses the thread boundary. */
export interface SerializedExpressionError {
  readonly message: string;
  readonly details: Record<string, unknown> | undefined;
}

export type EvaluationAnswer =
  | { readonly id: number; readonly value: unknown }
  | { readonly id: number; readonly error: SerializedExpressionError };

/** The first message of every worker: its modules are loaded and it takes requests. */
export const WORKER_READY = 'flowd-expression-worker-ready';
