import type { FlowLogger } from '../engine/logger.js';
import { MAX_LOG_ENTRIES_PER_EXECUTION, type ExecutionLogEntry, type ExecutionStore } from '../store/execution-store.js';

const FLUSH_INTERVAL_MS = 250;
/** How long after its end an execution's late lines are still written. */
const LINGER_MS = 2000;

/**
 * Buffers execution log lines in memory and writes them in batches: every 250 ms for executions
 * that already have a row (durable ones), and at the end for the others (once the persistence
 * policy decided where their record goes). Lines beyond the per-execution cap are dropped.
 */
export class ExecutionLogs {
  readonly #pending = new Map<string, ExecutionLogEntry[]>();
  readonly #counts = new Map<string, number>();
  readonly #stored = new Map<string, ExecutionStore>();
  readonly #lingerUntil = new Map<string, number>();
  readonly #logger: FlowLogger;
  #timer: NodeJS.Timeout | undefined;

  constructor(logger: FlowLogger) {
    this.#logger = logger;
    this.#timer = setInterval(() => void this.#flushStored(), FLUSH_INTERVAL_MS);
    this.#timer.unref();
  }

  /** The sink of the capturing logger. */
  capture(executionId: string, entry: ExecutionLogEntry): void {
    const count = this.#counts.get(executionId) ?? 0;
    if (count >= MAX_LOG_ENTRIES_PER_EXECUTION) return;
    this.#counts.set(executionId, count + 1);
    const pending = this.#pending.get(executionId);
    if (pending === undefined) this.#pending.set(executionId, [entry]);
    else pending.push(entry);
  }

  /** The execution has a row in `store`: its lines are written there as they come. */
  attach(executionId: string, store: ExecutionStore): void {
    this.#stored.set(executionId, store);
  }

  /** Lines not written yet (shown with the stored ones while an execution runs). */
  pending(executionId: string): ExecutionLogEntry[] {
    return this.#pending.get(executionId)?.slice() ?? [];
  }

  /**
   * The execution ended and its record is in `store` (undefined: nowhere, drop its lines). What is
   * pending is written now; lines logged after the end (work still settling, e.g. a cancelled
   * branch) follow for a short while.
   */
  async finish(executionId: string, store: ExecutionStore | undefined): Promise<void> {
    if (store === undefined) {
      this.#forget(executionId);
      return;
    }
    this.#stored.set(executionId, store);
    this.#lingerUntil.set(executionId, Date.now() + LINGER_MS);
    await this.#flush(executionId, store);
  }

  /** Drops an execution's unwritten lines (it was taken over by another worker). */
  drop(executionId: string): void {
    this.#forget(executionId);
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#flushStored();
  }

  async #flushStored(): Promise<void> {
    const now = Date.now();
    // A snapshot bounds the pass; most executions here ended with nothing left to write: no await for them.
    for (const [executionId, store] of [...this.#stored]) {
      if ((this.#pending.get(executionId)?.length ?? 0) > 0) await this.#flush(executionId, store);
      const until = this.#lingerUntil.get(executionId);
      if (until !== undefined && until <= now) this.#forget(executionId);
    }
  }

  async #flush(executionId: string, store: ExecutionStore): Promise<void> {
    const entries = this.#pending.get(executionId);
    if (entries === undefined || entries.length === 0) return;
    this.#pending.set(executionId, []);
    try {
      await store.appendLogs(executionId, entries);
    } catch (error) {
      this.#logger.warn({ err: error, executionId }, 'could not store execution log lines');
    }
  }

  #forget(executionId: string): void {
    this.#pending.delete(executionId);
    this.#counts.delete(executionId);
    this.#stored.delete(executionId);
    this.#lingerUntil.delete(executionId);
  }
}
