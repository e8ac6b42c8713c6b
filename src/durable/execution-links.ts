import type { FlowEngine } from '../engine/flow-engine.js';
import type { ExecutionFinishedEntry } from '../engine/journal/entries.js';
import { startedEntry } from '../engine/run/execution.js';
import type { FindSucceeded, TriggerParent } from '../engine/runtime.js';
import { LOCAL_TENANT } from '../executions/caller.js';
import { validate } from '../executions/execution-service.js';
import type { QueueAdmission } from '../executions/queue-admission.js';
import type { RecentExecutions } from '../executions/recent.js';
import type { ExecutionStore } from '../store/execution-store.js';
import { fingerprint, triggerKey } from './idempotency.js';
import { decodeRows, encodeEntries } from './journal-codec.js';
import type { Cleaner } from '../observability/cleaner.js';

/**
 * How executions reach other executions through the store: `triggers` start dependents through
 * the queue (any replica runs them; keyed by parent, flow and input, so a resumed parent does not
 * start them twice, nor find them refused when the queue has filled meanwhile), within the queue
 * bounds of the parent's tenant like an API request (refused: the FlowdError of the admission,
 * which the parent journals as `trigger_refused`), and
 * `depends_on … within_ms` finds a recent succeeded one (of the same tenant).
 */
export function executionLinks(options: {
  engine: () => FlowEngine;
  store: ExecutionStore;
  /** The process's queue bounds, shared with the API (queue-admission.ts). */
  admission: QueueAdmission;
  recent: RecentExecutions;
  leaseMs: number;
  idempotencyTtlMs: number;
  clean: Cleaner;
  wake: () => void;
}): { startTriggered: (flow: string, input: unknown, parent: TriggerParent) => Promise<string | undefined>; findSucceeded: FindSucceeded } {
  const startTriggered = async (name: string, input: unknown, parent: TriggerParent): Promise<string | undefined> => {
    const engine = options.engine();
    const flow = engine.getFlow(name);
    if (flow === undefined) return undefined;
    validate(flow, input);
    const tenant = parent.tenant ?? LOCAL_TENANT;
    const print = fingerprint(name, input);
    const executionId = engine.newExecutionId();
    const journal = engine.newJournal(flow);
    journal.append(startedEntry(flow, executionId, input, { parentId: parent.executionId, tenant }));
    const rows = encodeEntries(journal.entries, 0, options.clean);
    const key = triggerKey(parent.executionId, name, print);
    const created = await options.admission.queue(tenant, 'trigger', () =>
      options.store.create({
        executionId,
        flow: name,
        version: flow.version,
        flowHash: flow.hash,
        tenant,
        options: {},
        parentId: parent.executionId,
        status: 'queued',
        leaseMs: options.leaseMs,
        rows,
        idempotency: { key, fingerprint: print, ttlMs: options.idempotencyTtlMs },
      }),
      // A resumed parent starting its triggers again finds the one it started before the crash, full bounds or not.
      { waits: flow.waits.durable, key },
    );
    options.wake();
    return created.created ? executionId : created.executionId;
  };

  const findSucceeded: FindSucceeded = async (flow, correlationKey, withinMs, tenant) => {
    const owner = tenant ?? LOCAL_TENANT;
    const found = await options.store.findSucceeded({ flow, correlationKey, tenant: owner, withinMs });
    if (found !== undefined) return { output: (decodeRows([found.finished])[0] as ExecutionFinishedEntry).output };
    if (correlationKey !== undefined) return undefined;
    const since = Date.now() - withinMs;
    for (const journal of options.recent.newestFirst()) {
      const started = journal.started;
      if (started.flow !== flow || (started.tenant ?? LOCAL_TENANT) !== owner) continue;
      const finished = journal.finished;
      if (finished?.status === 'succeeded' && finished.at >= since) return { output: finished.output };
    }
    return undefined;
  };

  return { startTriggered, findSucceeded };
}
