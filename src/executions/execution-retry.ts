import { FlowdError } from '../errors.js';
import { FlowNotFoundError, type FlowEngine } from '../engine/flow-engine.js';
import { checkpointsOf } from '../engine/journal/checkpoints.js';
import type { Journal } from '../engine/journal/journal.js';
import { TERMINAL_STATUSES, type ExecutionRecord } from '../engine/record.js';
import type { FlowCatalog } from '../flows/flow-catalog.js';
import type { LeasedRuns } from '../durable/leased-runs.js';
import type { PersistencePolicy } from '../durable/persistence-policy.js';
import { LOCAL_TENANT, type Caller } from './caller.js';
import type { ExecutionReads } from './execution-reads.js';
import type { QueueAdmission } from './queue-admission.js';
import { planRetry } from './retry-plan.js';

/** Executions a retry can start from: they ended without success and nothing is left half-undone. */
const RETRYABLE = new Set(['failed', 'compensated', 'timed_out', 'cancelled']);

function notRetryable(message: string): FlowdError {
  return new FlowdError('FLOWD_ERR_EXECUTION_NOT_RETRYABLE', message);
}

/**
 * `POST /executions/{id}/retry`: runs the execution's flow again with the same input, restoring
 * the outputs of the phases it completed instead of running them (taken from its journal), so
 * the work really restarts at the phase that failed. The new execution names the original in
 * `retryOf` and runs for the original's tenant. It runs durably (stored at its first side effect
 * or its end, resumable) when a fresh execution of the flow would: under `persistence: all`, and
 * always for a flow that waits durably, which could not wait otherwise.
 */
export async function retryExecution(
  deps: { engine: FlowEngine; flows: FlowCatalog; reads: ExecutionReads; policy: PersistencePolicy; runs: LeasedRuns; admission: QueueAdmission },
  executionId: string,
  caller: Caller,
  requestId: string,
): Promise<{ executionId: string; done: Promise<ExecutionRecord>; journal: Journal; fromPhase: string | undefined; reused: number }> {
  const found = await deps.reads.find(executionId, caller, true);
  if (found === undefined) throw new FlowdError('FLOWD_ERR_EXECUTION_NOT_FOUND', `no execution "${executionId}" (unknown, or expired from the store)`);
  if (found.source === 'running') throw notRetryable(`execution "${executionId}" is still running`);
  const original = deps.reads.view(found, false);
  checkRetryable(original);
  const started = found.entries[0];
  if (started?.type !== 'execution_started' || !('input' in started)) {
    throw notRetryable(`the stored values of execution "${executionId}" were cleared; execute the flow again with its input instead`);
  }
  // The very definition it ran (its version may still be loaded beside newer ones, or retired by a reload).
  const flow = deps.flows.pinned(original.flow, started.hash);
  if (flow === undefined) {
    const current = deps.flows.get(original.flow);
    if (current === undefined) throw new FlowNotFoundError(original.flow);
    throw notRetryable(`execution "${executionId}" ran a definition of version ${original.version} of flow "${current.name}" that is no longer loaded, so its phase outputs cannot be reused`);
  }
  const plan = planRetry(flow, original, checkpointsOf(found.entries));
  if (flow.waits.durable || deps.policy.of(flow) === 'all') {
    const journal = deps.engine.newJournal(flow);
    const retry = { of: executionId, checkpoints: plan.checkpoints, compensationRequests: plan.compensationRequests };
    const tenant = started.tenant ?? LOCAL_TENANT;
    // A retry starts a new execution: one that can wait passes the waiting bound like any start.
    const reserved = flow.waits.durable ? await deps.admission.reserveWaiting(tenant, 'api') : undefined;
    let run: ReturnType<LeasedRuns['start']>;
    try {
      run = deps.runs.start({ flow, tenant, options: { requestId }, input: started.input, journal, retry });
    } catch (error) {
      reserved?.(false);
      throw error;
    }
    reserved?.(true);
    return { ...run, journal, fromPhase: plan.fromPhase, reused: plan.checkpoints.size };
  }
  const run = deps.engine.start(flow, started.input, {
    checkpoints: plan.checkpoints,
    compensationRequests: plan.compensationRequests,
    retryOf: executionId,
    requestId,
    tenant: started.tenant,
  });
  return { ...run, fromPhase: plan.fromPhase, reused: plan.checkpoints.size };
}

function checkRetryable(record: ExecutionRecord): void {
  const id = record.executionId;
  if (record.status === 'succeeded') throw notRetryable(`execution "${id}" succeeded; there is nothing to retry`);
  if (record.status === 'compensation_failed') {
    throw notRetryable(`execution "${id}" ended compensation_failed: some completed phases could not be undone; resolve them before running the order again`);
  }
  if (!TERMINAL_STATUSES.has(record.status) || !RETRYABLE.has(record.status)) throw notRetryable(`execution "${id}" is ${record.status}`);
}
