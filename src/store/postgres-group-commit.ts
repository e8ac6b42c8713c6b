import type pg from 'pg';
import { lostLease, type CreateResult } from './execution-store.js';
import { BATCH_STATEMENT, batchParameters, opExecutionId, opRows, type BatchAnswer, type WriteOp } from './postgres-batch.js';
import { GROUP_COMMIT_DEFAULTS, rowsSize, takeBatch, type GroupCommitOptions, type Weighed } from './group-commit-bounds.js';

interface Queued extends Weighed {
  readonly op: WriteOp;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

export interface PostgresGroupCommitOptions extends GroupCommitOptions {
  /**
   * How many batches may be in flight at once (each on its own pool connection). Default 1: while
   * the batch in flight runs, writes queue and leave together as the next one, so the busier the
   * database, the bigger the batches. More batches at once made PostgreSQL slower per execution on
   * the benchmark (concurrent inserts into the same index pages), but may help when a commit waits
   * long for a slow disk (`DATABASE_WRITE_BATCHES`).
   */
  readonly maxInFlight?: number | undefined;
}

/** Counters of what the writer sent (tests, diagnostics). */
export interface WriteStats {
  /** Batch statements sent (each one round trip). */
  batches: number;
  /** Writes they carried. */
  operations: number;
  /** Statements of any kind the writer sent: batches, writes retried alone after a failed batch, idempotency look-ups. */
  statements: number;
  /** Most batches that were in flight at the same time. */
  peakInFlight: number;
}

/**
 * Group commit for PostgreSQL: the writes (`create`, `append`, `finish`, `save`) of every
 * execution queued during one turn of the event loop go to PostgreSQL as one batch statement
 * (postgres-batch.ts), so the database sees one round trip and one commit per batch instead of
 * one per write.
 *
 * When a batch goes: at the end of the turn in which its first write was queued, if a batch slot
 * is free (`maxInFlight`) and the pool has a free connection, or the queue holds a full batch
 * (`maxRows`, `maxBytes`). When the pool's connections are all busy (reads, claims), it waits for
 * one at most `maxWaitMs` before it is queued on the pool anyway. When every slot is taken, writes
 * queue until a batch returns, so the busier the database, the bigger the batches.
 *
 * Each batch holds at most one write per execution (the next waits for the following batch, so
 * an execution's writes are applied in order) and one create per idempotency key. When a batch
 * statement fails (a deadlock, a constraint), its writes are retried one by one, so a failing
 * write fails alone.
 */
export class PostgresGroupCommit {
  readonly #pool: pg.Pool;
  readonly #limits: { maxRows: number; maxBytes: number };
  readonly #maxWaitMs: number;
  readonly #maxInFlight: number;
  readonly #queue: Queued[] = [];
  readonly #busy = new Set<string>();
  readonly #stats: WriteStats = { batches: 0, operations: 0, statements: 0, peakInFlight: 0 };
  #queuedRows = 0;
  #queuedBytes = 0;
  #inFlight = 0;
  #scheduled = false;
  #timer: NodeJS.Timeout | undefined;
  #idle: (() => void)[] = [];

  constructor(pool: pg.Pool, options: PostgresGroupCommitOptions = {}) {
    this.#pool = pool;
    this.#limits = { maxRows: options.maxRows ?? GROUP_COMMIT_DEFAULTS.maxRows, maxBytes: options.maxBytes ?? GROUP_COMMIT_DEFAULTS.maxBytes };
    this.#maxWaitMs = options.maxWaitMs ?? GROUP_COMMIT_DEFAULTS.maxWaitMs;
    this.#maxInFlight = Math.max(1, options.maxInFlight ?? 1);
  }

  write(op: WriteOp & { kind: 'create' }): Promise<CreateResult>;
  write(op: WriteOp): Promise<void>;
  write(op: WriteOp): Promise<unknown> {
    return new Promise((resolve, reject) => this.#enqueue({ op, resolve, reject, rows: opRows(op).length, bytes: rowsSize(opRows(op)) + 256 }));
  }

  stats(): WriteStats {
    return { ...this.#stats };
  }

  /** Sends everything queued and waits until no batch is in flight. */
  async drain(): Promise<void> {
    while (this.#queue.length > 0 || this.#inFlight > 0) {
      const idle = new Promise<void>((resolve) => this.#idle.push(resolve));
      this.#pump(true);
      await idle;
    }
  }

  #enqueue(queued: Queued, first = false): void {
    if (first) this.#queue.unshift(queued);
    else this.#queue.push(queued);
    this.#queuedRows += queued.rows;
    this.#queuedBytes += queued.bytes;
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        this.#pump(false);
      });
    }
  }

  #pump(waited: boolean): void {
    while (this.#queue.length > 0 && this.#inFlight < this.#maxInFlight) {
      const full = this.#queuedRows >= this.#limits.maxRows || this.#queuedBytes >= this.#limits.maxBytes;
      const pool = this.#pool;
      const connection = pool.idleCount > 0 || pool.totalCount < (pool.options.max ?? 10);
      if (!waited && !full && !connection) {
        this.#timer ??= setTimeout(() => {
          this.#timer = undefined;
          this.#pump(true);
        }, this.#maxWaitMs);
        return;
      }
      const inBatch = new Set<string>();
      const batch = takeBatch(this.#queue, this.#limits, ({ op }) => {
        const ids = opIds(op);
        if (ids.some((id) => this.#busy.has(id) || inBatch.has(id))) return false;
        for (const id of ids) inBatch.add(id);
        return true;
      });
      if (batch.length === 0) return; // Everything queued waits for a batch in flight.
      clearTimeout(this.#timer);
      this.#timer = undefined;
      for (const queued of batch) {
        this.#queuedRows -= queued.rows;
        this.#queuedBytes -= queued.bytes;
      }
      void this.#send(batch, inBatch);
    }
  }

  async #send(batch: readonly Queued[], ids: ReadonlySet<string>): Promise<void> {
    this.#inFlight += 1;
    if (this.#inFlight > this.#stats.peakInFlight) this.#stats.peakInFlight = this.#inFlight;
    for (const id of ids) this.#busy.add(id);
    this.#stats.batches += 1;
    this.#stats.operations += batch.length;
    try {
      let answers: Map<string, BatchAnswer> | undefined;
      try {
        answers = await this.#run(batch.map((queued) => queued.op));
      } catch (error) {
        if (batch.length === 1) batch[0]!.reject(error);
        // One of them may be the cause: each is retried alone, so it fails alone.
        else for (const queued of batch) await this.#retryAlone(queued);
      }
      if (answers !== undefined) await this.#settle(batch, answers);
    } finally {
      for (const id of ids) this.#busy.delete(id);
      this.#inFlight -= 1;
      this.#pump(false);
      if (this.#inFlight === 0) for (const resolve of this.#idle.splice(0)) resolve();
    }
  }

  async #run(ops: readonly WriteOp[]): Promise<Map<string, BatchAnswer>> {
    this.#stats.statements += 1;
    const { rows } = await this.#pool.query<BatchAnswer>({ name: 'flowd_write_batch', text: BATCH_STATEMENT, values: batchParameters(ops) });
    return new Map(rows.map((answer) => [answer.id, answer]));
  }

  async #retryAlone(queued: Queued): Promise<void> {
    let answers: Map<string, BatchAnswer>;
    try {
      answers = await this.#run([queued.op]);
    } catch (error) {
      queued.reject(error);
      return;
    }
    await this.#settle([queued], answers);
  }

  async #settle(batch: readonly Queued[], answers: ReadonlyMap<string, BatchAnswer>): Promise<void> {
    for (const queued of batch) {
      const { op } = queued;
      const answer = answers.get(opExecutionId(op));
      switch (op.kind) {
        case 'append':
        case 'finish':
          if (answer === undefined) queued.reject(lostLease(op.kind === 'append' ? 'append' : 'final write', op.lease));
          else queued.resolve(undefined);
          break;
        case 'save':
          queued.resolve(undefined);
          break;
        case 'create':
          await this.#settleCreate(queued, op, answer).catch(queued.reject);
          break;
      }
    }
  }

  async #settleCreate(queued: Queued, op: WriteOp & { kind: 'create' }, answer: BatchAnswer | undefined): Promise<void> {
    const execution = op.execution;
    if (answer !== undefined && answer.holder === null) {
      const lease = execution.status === 'running' ? { executionId: execution.executionId, owner: execution.owner!, epoch: 1 } : undefined;
      queued.resolve({ created: true, lease } satisfies CreateResult);
      return;
    }
    if (answer !== undefined) {
      queued.resolve({ created: false, executionId: answer.holder!, fingerprint: answer.fingerprint! } satisfies CreateResult);
      return;
    }
    // The key was taken by a transaction that committed while the batch ran (its snapshot could
    // not show it): look it up now; gone again (expired and purged meanwhile): start over.
    this.#stats.statements += 1;
    const { rows } = await this.#pool.query<{ execution_id: string; fingerprint: string }>(
      `SELECT execution_id, fingerprint FROM flowd_idempotency_keys WHERE key = $1`,
      [execution.idempotency?.key],
    );
    const taken = rows[0];
    if (taken === undefined) this.#enqueue(queued, true);
    else queued.resolve({ created: false, executionId: taken.execution_id, fingerprint: taken.fingerprint } satisfies CreateResult);
  }
}

/** What a batch may hold once: the execution, and for a create its idempotency key. */
function opIds(op: WriteOp): string[] {
  const id = opExecutionId(op);
  return op.kind === 'create' && op.execution.idempotency !== undefined ? [id, `key:${op.execution.idempotency.key}`] : [id];
}
