/**
 * A custom middleware: an audit trail of every execution and phase, plus a warning for slow
 * phases. It shows the three shapes a middleware hook can take:
 *
 *  - before: code that runs before `await next()` sees the context (flow, input, ids);
 *  - after: code that runs after `await next()` sees the result (the final record of the flow,
 *    the output and final record of the phase: status, attempts, cached/fallback, error);
 *  - around: both, plus try/finally or catch around `next()` (timing, errors).
 *
 * `flow` and `phase` must call `next()` exactly once and return what it returned (or throw).
 * The `on…` hooks only observe: if one throws, the error is logged and ignored.
 *
 * Register it with `createService(config, { middleware: [auditMiddleware(...)] })`, or in the
 * library with `buildEngine({ flows, middleware: [auditMiddleware(...)] })`. Custom middleware
 * runs inside the built-in logging and metrics middleware.
 */
import type { ExecutionStatus, Middleware, PhaseStatus } from '../src/index.js'; // in your project: from 'flowd'

export type AuditEvent =
  | { type: 'flow:before'; executionId: string; flow: string; requestId: string | undefined; input: unknown }
  | { type: 'flow:after'; executionId: string; flow: string; status: ExecutionStatus; failedPhase: string | undefined; phases: number }
  | { type: 'phase:before'; executionId: string; phase: string; kind: string }
  | {
      type: 'phase:after';
      executionId: string;
      phase: string;
      status: PhaseStatus;
      attempts: number;
      cached: boolean;
      fallback: boolean;
      output: unknown;
    }
  | { type: 'phase:error'; executionId: string; phase: string; code: string | undefined }
  | { type: 'retry'; executionId: string; phase: string; attempt: number; delayMs: number };

export interface AuditOptions {
  /** Where events go: a queue, an audit table, a test array. Must not throw. */
  readonly sink: (event: AuditEvent) => void;
  /** Phases slower than this log a warning on the execution's logger. */
  readonly slowPhaseMs?: number;
}

export function auditMiddleware(options: AuditOptions): Middleware {
  const { sink, slowPhaseMs = 1000 } = options;
  return {
    name: 'audit',

    async flow(ctx, next) {
      // before: the context, nothing has run yet
      sink({ type: 'flow:before', executionId: ctx.executionId, flow: ctx.flow.name, requestId: ctx.requestId, input: ctx.input });
      const record = await next(); // the whole execution runs here
      // after: the record is final (status, output, error, per-phase timeline)
      sink({
        type: 'flow:after',
        executionId: ctx.executionId,
        flow: ctx.flow.name,
        status: record.status,
        failedPhase: record.error?.phase,
        phases: record.phases.length,
      });
      return record;
    },

    async phase(ctx, next) {
      const executionId = ctx.execution.executionId;
      sink({ type: 'phase:before', executionId, phase: ctx.phase.id, kind: ctx.phase.kind });
      try {
        const output = await next(); // the phase (with its retries, cache, fallback) runs here
        const { record } = ctx; // final once next() settled
        sink({
          type: 'phase:after',
          executionId,
          phase: record.id,
          status: record.status,
          attempts: record.attempts,
          cached: record.cached === true,
          fallback: record.fallback === true,
          output,
        });
        return output;
      } catch (error) {
        sink({ type: 'phase:error', executionId, phase: ctx.phase.id, code: ctx.record.error?.code });
        throw error; // never swallow: the engine decides what a failed phase means
      } finally {
        const ms = ctx.record.durationMs ?? 0;
        if (ms > slowPhaseMs) ctx.logger.warn({ durationMs: ms, thresholdMs: slowPhaseMs }, 'slow phase');
      }
    },

    onRetry(event) {
      sink({ type: 'retry', executionId: event.execution.executionId, phase: event.phase.id, attempt: event.attempt, delayMs: event.delayMs });
    },
  };
}
