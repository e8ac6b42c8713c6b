import { LimitExceededError } from '../../errors.js';
import type { CompiledPhase } from '../../flows/compiled.js';
import { assertNestingWithin } from '../../limits/json-nesting.js';
import { jsonSizeUpTo } from '../../limits/json-size.js';

export interface OutputLimits {
  /** Largest output of one phase, in (approximate) JSON bytes: MAX_PHASE_OUTPUT_BYTES. */
  readonly maxPhaseOutputBytes: number;
  /**
   * Largest total of the data one execution produces (the outputs of its call and sub-flow
   * phases, map items included), in JSON bytes: MAX_RECORD_BYTES. It bounds what an execution
   * holds in memory and what its journal keeps.
   */
  readonly maxRecordBytes: number;
}

/**
 * Checks a phase's output as the phase hooks returned it: too deep, too large, or the execution's
 * running total past its bound fails the phase with FLOWD_ERR_LIMIT_EXCEEDED (422), like any other
 * failure (fallback, compensation and recovery apply): a problem, never a 500 or an OOM.
 * Aggregates (decision, parallel, map) are checked against the phase limit but not added to the
 * total: their parts were counted already. Returns the execution's new total.
 */
export function checkOutput(limits: OutputLimits, phase: CompiledPhase, output: unknown, total: number): number {
  // An output nested thousands deep (a custom adapter's) would overflow every serialiser after it.
  assertNestingWithin(output, `the output of phase "${phase.id}"`);
  const size = jsonSizeUpTo(output, limits.maxPhaseOutputBytes);
  if (size > limits.maxPhaseOutputBytes) {
    throw new LimitExceededError(`phase "${phase.id}" produced more than ${limits.maxPhaseOutputBytes} bytes of output (MAX_PHASE_OUTPUT_BYTES)`, {
      details: { limit: 'MAX_PHASE_OUTPUT_BYTES', value: limits.maxPhaseOutputBytes },
    });
  }
  if (phase.kind !== 'call' && phase.kind !== 'subflow') return total;
  const next = total + size;
  if (next > limits.maxRecordBytes) {
    throw new LimitExceededError(`execution data passed ${limits.maxRecordBytes} bytes at phase "${phase.id}" (MAX_RECORD_BYTES)`, {
      details: { limit: 'MAX_RECORD_BYTES', value: limits.maxRecordBytes },
    });
  }
  return next;
}
