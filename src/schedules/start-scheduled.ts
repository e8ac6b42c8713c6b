import { encodeEntries } from '../durable/journal-codec.js';
import type { FlowEngine } from '../engine/flow-engine.js';
import { startedEntry } from '../engine/run/execution.js';
import type { CompiledSchedule } from '../flows/compile-schedules.js';
import type { CompiledFlow } from '../flows/compiled.js';
import { LOCAL_TENANT } from '../executions/caller.js';
import type { QueueAdmission } from '../executions/queue-admission.js';
import type { ExecutionStore } from '../store/execution-store.js';
import type { Cleaner } from '../observability/cleaner.js';

export interface StartScheduledOptions {
  readonly engine: Pick<FlowEngine, 'newExecutionId' | 'newJournal'>;
  readonly store: ExecutionStore;
  /** The queue bounds (an occurrence is queued for the local tenant, like any queued execution). */
  readonly admission: Pick<QueueAdmission, 'queue'>;
  readonly leaseMs: number;
  readonly idempotencyTtlMs: number;
  readonly clean: Cleaner;
  /** Tells the work queue there is work. */
  readonly wake: () => void;
}

/** The idempotency key of one occurrence: every replica that tries to start it names the same execution. */
export function occurrenceKey(flow: string, schedule: string, occurrence: number): string {
  return `schedule:${flow}:${schedule}:${new Date(occurrence).toISOString()}`;
}

/**
 * Starts one occurrence as an ordinary queued execution (run by whichever replica claims it,
 * like `respond-async`), its trigger in the `execution_started` entry. Idempotent per occurrence:
 * a second start of the same occurrence (a replica that crashed before recording it fired, or
 * lost the race) names the execution already created. Returns its id and whether it is new.
 * Within the queue bounds: a full queue refuses it with their FlowdError (FLOWD_ERR_QUEUE_FULL,
 * FLOWD_ERR_OVERLOADED), nothing is written, and the scheduler tries the occurrence again next
 * tick — until it has room, or the occurrence is missed (`missed: skip | run_once`); an occurrence
 * started before (its key taken) is found, full bounds or not.
 */
export async function startScheduled(
  options: StartScheduledOptions,
  flow: CompiledFlow,
  schedule: CompiledSchedule,
  occurrence: number,
): Promise<{ executionId: string; created: boolean }> {
  const executionId = options.engine.newExecutionId();
  const journal = options.engine.newJournal(flow);
  const trigger = { kind: 'schedule' as const, schedule: schedule.name, occurrence: new Date(occurrence).toISOString() };
  journal.append({ ...startedEntry(flow, executionId, schedule.input, { tenant: LOCAL_TENANT }), trigger } as Parameters<typeof journal.append>[0]);
  const key = occurrenceKey(flow.name, schedule.name, occurrence);
  const rows = encodeEntries(journal.entries, 0, options.clean);
  const created = await options.admission.queue(LOCAL_TENANT, 'schedule', () =>
    options.store.create({
      executionId,
      flow: flow.name,
      version: flow.version,
      flowHash: flow.hash,
      tenant: LOCAL_TENANT,
      options: {},
      status: 'queued',
      leaseMs: options.leaseMs,
      rows,
      idempotency: { key, fingerprint: key, ttlMs: options.idempotencyTtlMs },
    }),
    // An occurrence a crashed replica had started is found, full bounds or not.
    { waits: flow.waits.durable, key },
  );
  if (created.created) options.wake();
  return created.created ? { executionId, created: true } : { executionId: created.executionId, created: false };
}
