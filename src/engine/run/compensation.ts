import { CancelledError, toFlowdError } from '../../errors.js';
import { Canceller } from '../cancellation.js';
import { callComponent, withTimeout, type CallTarget } from '../phases/call-attempt.js';
import type { CompensationRecord } from '../record.js';
import type { ExecutionContext } from './context.js';
import { evaluate, summarize } from './scope.js';

/**
 * Undoes completed phases newest first, each once, under its own retry policy and time budget.
 * A failed compensation does not stop the others. Compensations run after the flow's own
 * deadline, so they get a fresh cancellation of their own. Each is journaled (`compensation_started`,
 * its attempts, `compensation_ended`); returns what each did, in the order they ran.
 */
export async function runCompensations(execution: ExecutionContext): Promise<CompensationRecord[]> {
  const never = new Canceller();
  const journal = execution.journal;
  const records: CompensationRecord[] = [];
  for (const entry of [...execution.pending].reverse()) {
    const compensation = entry.phase.compensate!;
    const seq = journal.append({ type: 'compensation_started', ref: entry.ref });
    const target: CallTarget = { ref: entry.ref, compensation: seq, idempotencyKey: `${execution.executionId}:${entry.key}:compensate`, attempts: 0 };
    const record: CompensationRecord = { phase: entry.phase.id, status: 'pending', attempts: 0 };
    if (entry.index !== undefined) record.index = entry.index;
    const started = performance.now();
    const retry = compensation.retry;
    const budgetMs = retry.budgetMs ?? (compensation.timeoutMs + retry.maxDelayMs) * retry.maxAttempts;
    const budget = withTimeout(never, budgetMs, entry.phase.id);
    try {
      const request = await evaluate(compensation.request, { ...entry.scope, request: entry.request, output: entry.output });
      if (!compensation.component.pure) await execution.beforeEffect();
      await callComponent(execution, entry.phase, compensation.component, retry, compensation.timeoutMs, request, budget.cancellation, target);
      record.status = 'succeeded';
    } catch (error) {
      record.status = 'failed';
      record.error = summarize(error instanceof CancelledError ? error : toFlowdError(error), entry.phase.id, target.attempts);
    } finally {
      budget.dispose();
      record.attempts = target.attempts;
      record.durationMs = Math.round((performance.now() - started) * 1000) / 1000;
    }
    journal.append({
      type: 'compensation_ended',
      ref: seq,
      status: record.status,
      attempts: record.attempts,
      ...(record.error === undefined ? {} : { error: record.error }),
    });
    records.push(record);
    if (execution.runtime.chain.hasEventHooks) execution.runtime.chain.emitCompensation({ execution: execution.context, compensation: record });
  }
  execution.pending.length = 0;
  return records;
}
