import type { Middleware } from '../engine/middleware.js';
import { LimitExceededError } from '../errors.js';
import { assertNestingWithin } from './json-nesting.js';
import { jsonSizeUpTo } from './json-size.js';

export interface OutputLimits {
  /** Largest output of one phase, in (approximate) JSON bytes: MAX_PHASE_OUTPUT_BYTES. */
  readonly maxPhaseOutputBytes: number;
  /**
   * Largest total of the data one execution produces (the outputs of its call and sub-flow
   * phases, map items included), in JSON bytes: MAX_RECORD_BYTES. It bounds what an execution
   * holds in memory and the output its record can carry.
   */
  readonly maxRecordBytes: number;
}

/**
 * Middleware that fails a phase with FLOWD_ERR_LIMIT_EXCEEDED (422) when its output, or the
 * execution's running total, passes its limit. The phase fails like any other failure (fallback,
 * compensation and recovery apply), so the service answers a problem, never a 500 or an OOM.
 * Aggregates (decision, parallel, map) are checked against the phase limit but not added to the
 * total: their parts were counted already.
 */
export function createOutputLimitsMiddleware(limits: OutputLimits): Middleware {
  const totals = new WeakMap<object, number>();
  return {
    name: 'output-limits',
    checkOutput(ctx, output) {
      const { phase, execution } = ctx;
      // An output nested thousands deep (a custom adapter's) would overflow every serialiser after it.
      assertNestingWithin(output, `the output of phase "${phase.id}"`);
      const size = jsonSizeUpTo(output, limits.maxPhaseOutputBytes);
      if (size > limits.maxPhaseOutputBytes) {
        throw new LimitExceededError(
          `phase "${phase.id}" produced more than ${limits.maxPhaseOutputBytes} bytes of output (MAX_PHASE_OUTPUT_BYTES)`,
          { details: { limit: 'MAX_PHASE_OUTPUT_BYTES', value: limits.maxPhaseOutputBytes } },
        );
      }
      if (phase.kind === 'call' || phase.kind === 'subflow') {
        const total = (totals.get(execution) ?? 0) + size;
        totals.set(execution, total);
        if (total > limits.maxRecordBytes) {
          throw new LimitExceededError(
            `execution data passed ${limits.maxRecordBytes} bytes at phase "${phase.id}" (MAX_RECORD_BYTES)`,
            { details: { limit: 'MAX_RECORD_BYTES', value: limits.maxRecordBytes } },
          );
        }
      }
    },
  };
}
