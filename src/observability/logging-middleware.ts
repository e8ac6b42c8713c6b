import type { Middleware } from '../engine/middleware.js';

/** One line when an execution starts, one per phase, one when it ends: through the middleware API. */
export function createLoggingMiddleware(): Middleware {
  return {
    name: 'logging',
    async flow(ctx, next) {
      ctx.logger.info({ version: ctx.flow.version, ...(ctx.parentId === undefined ? {} : { parentId: ctx.parentId }) }, 'execution started');
      const record = await next();
      const fields = {
        status: record.status,
        durationMs: record.durationMs,
        ...(record.error === undefined ? {} : { code: record.error.code, phase: record.error.phase }),
        ...(record.recovered ? { recovered: true } : {}),
      };
      if (record.status === 'succeeded' || record.recovered) ctx.logger.info(fields, 'execution finished');
      else ctx.logger.warn(fields, 'execution finished');
      return record;
    },
    async phase(ctx, next) {
      try {
        return await next();
      } finally {
        const { record } = ctx;
        ctx.logger.info(
          {
            kind: record.kind,
            status: record.status,
            attempts: record.attempts,
            durationMs: record.durationMs,
            ...(record.index === undefined ? {} : { index: record.index }),
            ...(record.cached === true ? { cached: true } : {}),
            ...(record.fallback === true ? { fallback: true } : {}),
            ...(record.error === undefined ? {} : { code: record.error.code, error: record.error.message }),
          },
          'phase finished',
        );
      }
    },
  };
}
