import type { Journal } from '../engine/journal/journal.js';
import type { FlowLogger } from '../engine/logger.js';
import type { ExecutionObserver } from '../engine/runtime.js';
import type { CompiledFlow, Persistence } from '../flows/compiled.js';
import { LOCAL_TENANT } from '../executions/caller.js';
import type { RecentExecutions } from '../executions/recent.js';
import type { ExecutionStore } from '../store/execution-store.js';
import { encodeEntries } from './journal-codec.js';
import type { Cleaner } from '../observability/cleaner.js';

/**
 * Which executions are durable, and where the others go when they end. A flow's `persistence`
 * wins over PERSISTENCE: `all` runs durably (written ahead of side effects, resumable), `failed`
 * stores executions that did not succeed when they end, `none` keeps them in this process's
 * memory only. Executions with a correlation key are always stored (`depends_on … within_ms`
 * looks them up on every replica).
 */
export class PersistencePolicy {
  readonly #default: Persistence;

  constructor(defaultPolicy: Persistence) {
    this.#default = defaultPolicy;
  }

  of(flow: CompiledFlow): Persistence {
    return flow.persistence ?? this.#default;
  }

  /** Whether an execution that ran without a lease is stored when it ends. */
  stores(flow: CompiledFlow, journal: Journal): boolean {
    if (journal.started.correlationKey !== undefined) return true;
    const policy = this.of(flow);
    return policy === 'all' || (policy === 'failed' && journal.finished?.status !== 'succeeded');
  }
}

/**
 * The engine-wide observer: executions that ran without a lease (sync calls under `none` and
 * `failed`, sub-flows, recovery flows) end in the store or in memory, as the policy says.
 */
export function endOfRunObserver(options: {
  policy: PersistencePolicy;
  store: ExecutionStore;
  recent: RecentExecutions;
  clean: Cleaner;
  logger: FlowLogger;
}): ExecutionObserver {
  const { policy, store, recent, clean, logger } = options;
  return {
    async onFinish(journal, flow) {
      if (!policy.stores(flow, journal)) {
        recent.add(journal);
        return;
      }
      const ended = journal.finished;
      try {
        await store.save({
          executionId: journal.executionId,
          flow: flow.name,
          version: flow.version,
          flowHash: flow.hash,
          tenant: journal.started.tenant ?? LOCAL_TENANT,
          parentId: journal.started.parentId,
          correlationKey: journal.started.correlationKey,
          startedAt: journal.started.at,
          summary: {
            status: ended?.status ?? 'failed',
            errorCode: ended?.error?.code,
            recovered: journal.entries.some((entry) => entry.type === 'recovery_ended' && entry.succeeded),
          },
          rows: encodeEntries(journal.entries, 0, clean, ended?.status !== 'succeeded'),
        });
      } catch (error) {
        logger.error({ err: error, executionId: journal.executionId }, 'could not store the execution');
        recent.add(journal);
      }
    },
  };
}

