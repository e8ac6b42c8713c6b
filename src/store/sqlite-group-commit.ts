import type Database from 'better-sqlite3';
import { GROUP_COMMIT_DEFAULTS, takeBatch, type GroupCommitOptions, type Weighed } from './group-commit-bounds.js';

/** The database clock in ms. SQLite's clock is the host's: the database is embedded. */
export const NOW = `CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)`;

interface Job extends Weighed {
  readonly run: () => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * Group commit for SQLite: every write queued during one turn of the event loop runs in one
 * IMMEDIATE transaction, and each caller is answered once that transaction committed. Concurrent
 * executions thus share commits (and fsyncs) instead of paying one each; a caller still never
 * proceeds before its write is durable. A transaction holds at most `maxRows` journal rows and
 * `maxBytes` of row text: beyond, the turn's writes are split over several transactions.
 *
 * One failing write does not undo the others. The writes run first without savepoints (a
 * savepoint per write costs about as much as the write itself); when one throws, the transaction
 * is rolled back and the batch runs again with each write in its own savepoint, so only the
 * failing write fails. Writes are plain SQLite work, safe to run again.
 */
export class SqliteGroupCommit {
  readonly #db: Database.Database;
  readonly #limits: { maxRows: number; maxBytes: number };
  readonly #pending: Job[] = [];
  #scheduled = false;
  /** The batch in one transaction, no savepoints; throws WriteFailed when a write throws. */
  readonly #together: Database.Transaction<(jobs: readonly Job[], values: unknown[]) => void>;
  /** The batch in one transaction, each write in its own savepoint. */
  readonly #isolated: Database.Transaction<(jobs: readonly Job[], outcomes: Outcome[]) => void>;
  #transactions = 0;
  #operations = 0;
  #reruns = 0;

  constructor(db: Database.Database, options: GroupCommitOptions = {}) {
    this.#db = db;
    this.#limits = { maxRows: options.maxRows ?? GROUP_COMMIT_DEFAULTS.maxRows, maxBytes: options.maxBytes ?? GROUP_COMMIT_DEFAULTS.maxBytes };
    this.#together = db.transaction((batch: readonly Job[], values: unknown[]) => {
      for (const job of batch) {
        try {
          values.push(job.run());
        } catch (error) {
          // Rolled back whole by SQLite (disk full, I/O error…): a failure of the batch, not of one write.
          if (!db.inTransaction) throw error;
          throw new WriteFailed(error);
        }
      }
    });
    const nested = db.transaction((run: () => unknown) => run());
    this.#isolated = db.transaction((batch: readonly Job[], outcomes: Outcome[]) => {
      for (const job of batch) {
        try {
          outcomes.push({ ok: true, value: nested(job.run) });
        } catch (error) {
          // SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM… may roll the whole transaction back: then nothing of the
          // batch is written, and the writes after this one must not run outside it.
          if (!db.inTransaction) throw error;
          outcomes.push({ ok: false, error });
        }
      }
    });
  }

  /** Runs `run` (synchronous SQLite work) in the next group transaction. */
  write<T>(run: () => T, weight: Weighed = { rows: 0, bytes: 0 }): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ run, resolve: resolve as (value: unknown) => void, reject, rows: weight.rows, bytes: weight.bytes });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits everything queued now (also called before the database closes). */
  flush(): void {
    this.#scheduled = false;
    while (this.#pending.length > 0) this.#commit(takeBatch(this.#pending, this.#limits));
  }

  /**
   * Transactions committed and writes they carried, since the store opened; `reruns`: batches run
   * again write by write because one of their writes failed.
   */
  stats(): { transactions: number; operations: number; reruns: number } {
    return { transactions: this.#transactions, operations: this.#operations, reruns: this.#reruns };
  }

  #commit(jobs: readonly Job[]): void {
    if (!this.#db.open) {
      for (const job of jobs) job.reject(new Error('the SQLite store is closed'));
      return;
    }
    const values: unknown[] = [];
    try {
      this.#together.immediate(jobs, values);
    } catch (error) {
      if (!(error instanceof WriteFailed) || jobs.length === 1) {
        // BEGIN or COMMIT failed (busy, disk full), SQLite rolled the transaction back, or the batch's only
        // write failed: nothing was written. (A lost lease in a batch of several costs a second run.)
        for (const job of jobs) job.reject(error instanceof WriteFailed ? error.cause : error);
        return;
      }
      this.#reruns += 1;
      this.#commitIsolated(jobs);
      return;
    }
    this.#committed(jobs.length);
    jobs.forEach((job, index) => job.resolve(values[index]));
  }

  /** The batch again, each write in its own savepoint: a failing write is undone alone. */
  #commitIsolated(jobs: readonly Job[]): void {
    const outcomes: Outcome[] = [];
    try {
      this.#isolated.immediate(jobs, outcomes);
    } catch (error) {
      for (const job of jobs) job.reject(error);
      return;
    }
    this.#committed(jobs.length);
    jobs.forEach((job, index) => {
      const outcome = outcomes[index]!;
      if (outcome.ok) job.resolve(outcome.value);
      else job.reject(outcome.error);
    });
  }

  #committed(operations: number): void {
    this.#transactions += 1;
    this.#operations += operations;
  }
}

/** A write of a batch threw (as opposed to the transaction around it). */
class WriteFailed extends Error {
  constructor(cause: unknown) {
    super('a write of the batch failed', { cause });
  }
}
