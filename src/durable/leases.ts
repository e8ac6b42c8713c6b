import { LeaseLostError } from '../errors.js';
import type { FlowLogger } from '../engine/logger.js';
import type { ExecutionStore, Lease } from '../store/execution-store.js';

interface Held {
  readonly lease: Lease;
  /** Stops the execution (its lease is lost). */
  readonly stop: (error: LeaseLostError) => void;
  /** performance.now() of the last confirmed renewal. */
  renewedAt: number;
}

export interface LeaseKeeperOptions {
  readonly store: ExecutionStore;
  readonly owner: string;
  readonly leaseMs: number;
  readonly heartbeatMs: number;
  readonly logger: FlowLogger;
  /** Cancellation was requested through another replica. */
  readonly onCancelRequested: (executionId: string) => void;
}

/**
 * Renews the leases this process holds with one batched statement per heartbeat; the expiry is
 * computed by the database. A lease the store no longer grants (taken over) aborts its execution
 * with LeaseLostError. If the store cannot be reached for a whole lease period the execution is
 * aborted too (self-fencing): by then another worker may have taken it over.
 */
export class LeaseKeeper {
  readonly #held = new Map<string, Held>();
  readonly #options: LeaseKeeperOptions;
  #timer: NodeJS.Timeout | undefined;
  #beating = false;

  constructor(options: LeaseKeeperOptions) {
    this.#options = options;
    this.#timer = setInterval(() => {
      if (this.#beating) return;
      this.#beating = true;
      void this.beat().finally(() => {
        this.#beating = false;
      });
    }, options.heartbeatMs);
    this.#timer.unref();
  }

  /** Starts renewing `lease`; `stop` is called (with a LeaseLostError) when it is lost. */
  hold(lease: Lease, stop: (error: LeaseLostError) => void): void {
    this.#held.set(lease.executionId, { lease, stop, renewedAt: performance.now() });
  }

  drop(executionId: string): void {
    this.#held.delete(executionId);
  }

  get size(): number {
    return this.#held.size;
  }

  leases(): Lease[] {
    return [...this.#held.values()].map((held) => held.lease);
  }

  /** One heartbeat (exposed for tests). */
  async beat(): Promise<void> {
    const held = [...this.#held.values()];
    if (held.length === 0) return;
    const started = performance.now();
    try {
      const result = await this.#options.store.heartbeat(this.#options.owner, held.map((entry) => entry.lease), this.#options.leaseMs);
      const lost = new Set(result.lost);
      for (const entry of held) {
        if (lost.has(entry.lease.executionId)) this.#lose(entry, 'another worker took the execution over (its lease expired)');
        else entry.renewedAt = started;
      }
      for (const executionId of result.cancelRequested) this.#options.onCancelRequested(executionId);
    } catch (error) {
      this.#options.logger.warn({ err: error, leases: held.length }, 'lease heartbeat failed');
      for (const entry of held) {
        if (performance.now() - entry.renewedAt >= this.#options.leaseMs) this.#lose(entry, 'the lease could not be renewed in time');
      }
    }
  }

  /** Aborts every held execution without giving its lease up (used after `release`). */
  abortAll(reason: string): void {
    for (const entry of [...this.#held.values()]) this.#lose(entry, reason);
  }

  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #lose(entry: Held, reason: string): void {
    if (this.#held.get(entry.lease.executionId) !== entry) return;
    this.#held.delete(entry.lease.executionId);
    this.#options.logger.warn({ executionId: entry.lease.executionId, epoch: entry.lease.epoch }, `lease lost: ${reason}`);
    entry.stop(new LeaseLostError(`lease lost: ${reason}`));
  }
}
