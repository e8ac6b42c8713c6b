import { CancelledError, toFlowdError } from '../errors.js';
import type { CallPhase } from '../flows/compiled.js';
import { callComponent, withTimeout } from './call-phase.js';
import { evaluate, summarize, type Execution, type Location, type Scope } from './execution.js';
import type { CompensationRecord } from './record.js';

/** A completed phase whose effect can be undone. */
export interface PendingCompensation {
  readonly phase: CallPhase;
  readonly index: number | undefined;
  readonly key: string;
  readonly scope: Scope;
  readonly request: unknown;
  readonly output: unknown;
}

/**
 * Undoes completed phases newest first, each once, under its own retry policy and time budget.
 * A failed compensation does not stop the others; it stays in the record as failed.
 * Compensations run after the flow's own deadline, so they get a fresh signal of their own.
 */
export async function runCompensations(execution: Execution): Promise<CompensationRecord[]> {
  const records: CompensationRecord[] = [];
  const never = new AbortController().signal;
  for (const entry of [...execution.pending].reverse()) {
    const compensation = entry.phase.compensate!;
    const record: CompensationRecord = {
      phase: entry.phase.id,
      ...(entry.index === undefined ? {} : { index: entry.index }),
      status: 'pending',
      attempts: 0,
    };
    const started = performance.now();
    const retry = compensation.retry;
    const budgetMs = retry.budgetMs ?? (compensation.timeoutMs + retry.maxDelayMs) * retry.maxAttempts;
    const budget = withTimeout(never, budgetMs, entry.phase.id);
    try {
      const request = await evaluate(compensation.request, { ...entry.scope, request: entry.request, output: entry.output });
      await callComponent(
        execution,
        entry.phase,
        compensation.component,
        retry,
        compensation.timeoutMs,
        request,
        budget.signal,
        record,
        locationOf(entry),
        ':compensate',
      );
      record.status = 'succeeded';
      markPhase(execution, entry);
    } catch (error) {
      record.status = 'failed';
      const flowdError = error instanceof CancelledError ? error : toFlowdError(error);
      record.error = summarize(flowdError, entry.phase.id, record.attempts);
      execution.logger.error({ phase: entry.phase.id, err: flowdError }, 'compensation failed');
    } finally {
      budget.dispose();
      record.durationMs = Math.round((performance.now() - started) * 1000) / 1000;
    }
    records.push(record);
    execution.runtime.chain.emitCompensation({ execution: execution.context, compensation: record });
  }
  return records;
}

function markPhase(execution: Execution, entry: PendingCompensation): void {
  const { iteration } = locationOf(entry);
  const phaseRecord = execution.record.phases.find(
    (candidate) =>
      candidate.id === entry.phase.id && candidate.index === entry.index && candidate.iteration === iteration && candidate.status === 'succeeded',
  );
  if (phaseRecord !== undefined) phaseRecord.status = 'compensated';
}

/**
 * Map index and loop pass of a completed phase, from its checkpoint key (`id#index@iteration`),
 * so a phase that ran more than once (decision loop) is undone with its own idempotency key.
 */
function locationOf(entry: PendingCompensation): Location {
  const iteration = /@(\d+)$/.exec(entry.key)?.[1];
  return { index: entry.index, iteration: iteration === undefined ? undefined : Number(iteration) };
}
