import { z } from 'zod';
import { ExpressionError } from '../../errors.js';
import { sleep } from '../../engine/sleep.js';
import type { ComponentAdapter } from '../types.js';

const DelayRequestSchema = z.union([z.strictObject({ ms: z.number().int().min(0).max(24 * 3600 * 1000) }), z.undefined()]);

/** Waits for `request.ms` (or the component's `ms`), honouring cancellation. Output: `{ waitedMs }`. */
export const createDelayAdapter = (): ComponentAdapter<{ ms?: number | undefined }> => ({
  kind: 'delay',
  implicit: true,
  configSchema: z.strictObject({ ms: z.number().int().min(0).max(24 * 3600 * 1000).optional() }),
  create: (config) => ({
    async execute(request, ctx) {
      const parsed = DelayRequestSchema.safeParse(request);
      if (!parsed.success) throw new ExpressionError('delay request must be { ms: <integer> }', { where: `${ctx.phase}.request` });
      const ms = parsed.data?.ms ?? config.ms ?? 0;
      await sleep(ms, ctx.signal);
      return { waitedMs: ms };
    },
  }),
});
