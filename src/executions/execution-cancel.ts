import type { FlowEngine } from '../engine/flow-engine.js';
import { TERMINAL_STATUSES } from '../engine/record.js';
import { encodeEntry } from '../durable/journal-codec.js';
import type { ExecutionStore } from '../store/execution-store.js';
import type { Caller } from './caller.js';
import type { ExecutionReads } from './execution-reads.js';
import type { Cleaner } from '../observability/cleaner.js';

export type CancelResult = 'cancelling' | 'cancelled' | 'terminal' | 'not_found';

const CANCELLED = { code: 'FLOWD_ERR_CANCELLED' as const, message: 'cancelled through the API before it started', recoverable: false };

/**
 * Cancels an execution: here if it runs here, at once if it is still queued, else by flagging it
 * for the replica that holds its lease (it cancels within one heartbeat).
 */
export async function cancelExecution(
  deps: { engine: FlowEngine; store: ExecutionStore; reads: ExecutionReads; clean: Cleaner },
  executionId: string,
  caller: Caller,
): Promise<CancelResult> {
  const found = await deps.reads.find(executionId, caller);
  if (found === undefined) return 'not_found';
  if (found.source === 'running') {
    const record = deps.reads.view(found, false);
    // Ended but still writing its final record: nothing left to cancel.
    if (TERMINAL_STATUSES.has(record.status)) return 'terminal';
    return deps.engine.cancel(executionId, 'cancelled through the API') ? 'cancelling' : 'terminal';
  }
  if (found.source === 'memory' || (found.summary !== undefined && TERMINAL_STATUSES.has(found.summary.status))) return 'terminal';
  const now = Date.now();
  const seq = found.entries.length;
  const row = encodeEntry({ type: 'execution_finished', status: 'cancelled', error: CANCELLED, at: now, t: 0 }, seq, deps.clean);
  const outcome = await deps.store.cancel(executionId, [row], { status: 'cancelled', errorCode: CANCELLED.code });
  return outcome === 'requested' ? 'cancelling' : outcome;
}
