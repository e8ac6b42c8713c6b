import type { Middleware } from '../engine/middleware.js';
import { TERMINAL_STATUSES } from '../engine/record.js';

/**
 * One line when an execution starts, one per phase, one when it ends: observers of the middleware
 * API. Fields are set one by one (no conditional spreads: each costs a slow object copy).
 */
export function createLoggingMiddleware(): Middleware {
  return {
    name: 'logging',
    onFlowStart(ctx) {
      const fields: Record<string, unknown> = { version: ctx.flow.version };
      if (ctx.parentId !== undefined) fields['parentId'] = ctx.parentId;
      ctx.logger.info(fields, 'execution started');
    },
    onFlowEnd(ctx, record) {
      if (!TERMINAL_STATUSES.has(record.status)) return; // did not end here (see the metrics middleware)
      const fields: Record<string, unknown> = { status: record.status, durationMs: record.durationMs };
      if (record.error !== undefined) {
        fields['code'] = record.error.code;
        fields['phase'] = record.error.phase;
      }
      if (record.recovered) fields['recovered'] = true;
      if (record.status === 'succeeded' || record.recovered) ctx.logger.info(fields, 'execution finished');
      else ctx.logger.warn(fields, 'execution finished');
    },
    onPhaseEnd(ctx) {
      const { record } = ctx;
      // `phase` first, as the phase logger's binding would put it (without making that logger).
      const fields: Record<string, unknown> = { phase: record.id, kind: record.kind, status: record.status, attempts: record.attempts, durationMs: record.durationMs };
      if (record.index !== undefined) fields['index'] = record.index;
      if (record.cached === true) fields['cached'] = true;
      if (record.fallback === true) fields['fallback'] = true;
      if (record.error !== undefined) {
        fields['code'] = record.error.code;
        fields['error'] = record.error.message;
      }
      ctx.execution.logger.info(fields, 'phase finished');
    },
  };
}
