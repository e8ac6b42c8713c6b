import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { FlowLogger } from '../engine/logger.js';
import type { ExecutionStore } from '../store/execution-store.js';

/**
 * Purges ended executions older than RETENTION_MS (with their journals and idempotency keys) and
 * expired idempotency keys, in batches of RETENTION_BATCH every RETENTION_INTERVAL_MS (at most 20
 * batches a round). Every replica does it; the stores skip rows another replica is deleting.
 */
export class Retention {
  readonly #store: ExecutionStore;
  readonly #retentionMs: number;
  readonly #batch: number;
  readonly #logger: FlowLogger;
  readonly #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: { store: ExecutionStore; retentionMs: number; intervalMs: number; batch: number; logger: FlowLogger }) {
    this.#store = options.store;
    this.#retentionMs = options.retentionMs;
    this.#batch = options.batch;
    this.#logger = options.logger;
    if (options.retentionMs > 0) {
      this.#timer = setInterval(() => void this.purge().catch((error: unknown) => this.#logger.warn({ err: error }, 'retention failed')), options.intervalMs);
      this.#timer.unref();
    }
  }

  /** One round; returns how many executions and keys went. */
  async purge(maxBatches = 20): Promise<number> {
    let total = 0;
    for (let batch = 0; batch < maxBatches && !this.#closed; batch += 1) {
      const removed = await this.#store.purge(this.#retentionMs, this.#batch);
      total += removed;
      if (removed < this.#batch) break;
      await yieldToLoop();
    }
    if (total > 0) this.#logger.info({ removed: total }, 'retention: purged old executions');
    return total;
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
  }
}
