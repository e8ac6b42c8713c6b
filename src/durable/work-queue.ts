import type { FlowEngine } from '../engine/flow-engine.js';
import { Journal } from '../engine/journal/journal.js';
import type { FlowLogger } from '../engine/logger.js';
import type { FlowCatalog } from '../flows/flow-catalog.js';
import type { ClaimedExecution, ExecutionStore } from '../store/execution-store.js';
import { decodeRows } from './journal-codec.js';
import { gaveUp, type LeasedRuns } from './leased-runs.js';

export interface WorkQueueOptions {
  readonly store: ExecutionStore;
  readonly engine: FlowEngine;
  readonly runs: LeasedRuns;
  /** What this replica can run: the loaded definitions and those a reload retired. */
  readonly flows: FlowCatalog;
  readonly owner: string;
  readonly logger: FlowLogger;
  readonly concurrency: number;
  readonly pollMs: number;
  readonly claimBatch: number;
  readonly leaseMs: number;
  readonly maxAttempts: number;
  /** While it says so, nothing new is claimed (shutdown). */
  readonly paused: () => boolean;
}

/**
 * The worker of one replica: claims queued executions and those whose lease expired (a crashed
 * or partitioned worker's), for the flow definitions it has (each execution is pinned to the
 * definition it started on; a reload keeps the definitions it retires claimable here), up to WORKER_CONCURRENCY at once,
 * and runs or resumes them from their journal. Polls every WORKER_POLL_MS, and at once when told
 * there is new work (`wake`) or when a claim came back full.
 */
export class WorkQueue {
  readonly #options: WorkQueueOptions;
  #active = 0;
  #timer: NodeJS.Timeout | undefined;
  #polling = false;
  #again = false;
  #closed = false;

  constructor(options: WorkQueueOptions) {
    this.#options = options;
    if (options.concurrency > 0) this.#schedule(0);
  }

  /** Looks for work now instead of at the next poll. */
  wake(): void {
    if (this.#options.concurrency > 0) this.#schedule(0);
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  #schedule(delayMs: number): void {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#tick(), delayMs);
    this.#timer.unref();
  }

  async #tick(): Promise<void> {
    this.#timer = undefined;
    if (this.#polling) {
      this.#again = true;
      return;
    }
    this.#polling = true;
    let full = false;
    try {
      full = await this.#poll();
    } catch (error) {
      this.#options.logger.warn({ err: error }, 'claiming queued executions failed');
    } finally {
      this.#polling = false;
    }
    if (this.#again || full) {
      this.#again = false;
      this.#schedule(0);
    } else if (this.#timer === undefined) {
      this.#schedule(this.#options.pollMs);
    }
  }

  /** Claims one batch; true when the batch was full (there may be more). */
  async #poll(): Promise<boolean> {
    const options = this.#options;
    if (this.#closed || options.paused()) return false;
    const free = options.concurrency - this.#active;
    if (free <= 0) return false;
    const limit = Math.min(free, options.claimBatch);
    const claimed = await options.store.claim({ owner: options.owner, flows: options.flows.claimable(), limit, leaseMs: options.leaseMs });
    for (const execution of claimed) this.#run(execution);
    return claimed.length === limit;
  }

  #run(claimed: ClaimedExecution): void {
    const options = this.#options;
    const flow = options.flows.pinned(claimed.summary.flow, claimed.summary.flowHash);
    const journal = Journal.from(decodeRows(claimed.rows), () => Date.now());
    this.#active += 1;
    const release = (): void => {
      this.#active -= 1;
      this.#schedule(0);
    };
    if (flow === undefined || claimed.attempts > options.maxAttempts) {
      void options.runs.failStored(journal, claimed.lease, gaveUp(claimed.attempts)).finally(release);
      return;
    }
    if (claimed.attempts > 1) {
      options.logger.info({ executionId: claimed.lease.executionId, attempt: claimed.attempts }, 'resuming execution from its journal');
    }
    const resumed = options.engine.newJournal(flow, journal.entries);
    const { done } = options.runs.start({
      flow,
      tenant: claimed.summary.tenant,
      options: claimed.options,
      journal: resumed,
      input: resumed.started.input,
      lease: claimed.lease,
      cancel: claimed.cancelRequested,
    });
    void done.finally(release);
  }
}
