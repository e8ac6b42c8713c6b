import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { LeaseLostError } from '../errors.js';
import type { ExecutionRecord, ExecutionStatus } from '../engine/record.js';
import {
  MAX_LOG_ENTRIES_PER_EXECUTION,
  TERMINAL,
  encodeValue,
  flowKeyString,
  type CancelOutcome,
  type ClaimRequest,
  type ClaimedExecution,
  type CreateResult,
  type ExecutionLogEntry,
  type ExecutionPage,
  type ExecutionQuery,
  type ExecutionStore,
  type FlowKey,
  type HeartbeatResult,
  type Lease,
  type NewExecution,
  type PendingDefinition,
  type StoredPhaseOutputs,
} from './execution-store.js';
import { MIGRATIONS } from './migrations/index.js';
import { claimedFrom, phaseOutputs, toRecord, type ClaimedRow } from './rows.js';

/** The database clock in ms. SQLite's clock is the host's: the database is embedded. */
const NOW = `CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)`;
const TERMINAL_LIST = TERMINAL.map((status) => `'${status}'`).join(', ');

export interface SqliteStoreOptions {
  /** File path (its directory is created), or `:memory:`. */
  readonly path: string;
  /** `normal` (default): survives a process crash; `full`: also an OS crash or power loss, slower. */
  readonly synchronous?: 'normal' | 'full';
  readonly busyTimeoutMs?: number;
}

type ExecutionRow = ClaimedRow & { status: ExecutionStatus };
type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * The embedded store: one SQLite file in WAL mode. Writes are short transactions; claims and
 * fenced writes run in IMMEDIATE transactions, so two processes sharing the file stay correct
 * (the second waits up to busy_timeout).
 */
export class SqliteExecutionStore implements ExecutionStore {
  readonly kind = 'sqlite' as const;
  readonly durable: boolean;
  readonly db: Database.Database;

  /** Prepared once per SQL text: preparing costs more than running these small statements. */
  readonly #statements = new Map<string, Database.Statement>();

  private constructor(db: Database.Database, durable: boolean) {
    this.db = db;
    this.durable = durable;
  }

  #sql(source: string): Database.Statement {
    let statement = this.#statements.get(source);
    if (statement === undefined) {
      statement = this.db.prepare(source);
      this.#statements.set(source, statement);
    }
    return statement;
  }

  /**
   * Group commit: every write queued during one turn of the event loop runs in one IMMEDIATE
   * transaction (each in its own savepoint, so one failing write does not undo the others), and
   * each caller is answered once that transaction committed. Concurrent executions thus share
   * commits instead of paying one each; a caller still never proceeds before its write is durable.
   */
  #write<T>(run: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ run, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  readonly #pending: { run: () => unknown; resolve: (value: unknown) => void; reject: (error: unknown) => void }[] = [];
  #flushScheduled = false;
  readonly #savepoint = (run: () => unknown): unknown => this.#nested(run);
  #nestedTransaction: Database.Transaction<(run: () => unknown) => unknown> | undefined;
  #batchTransaction: Database.Transaction<(jobs: readonly { run: () => unknown }[], outcomes: Outcome[]) => void> | undefined;

  #nested(run: () => unknown): unknown {
    this.#nestedTransaction ??= this.db.transaction((job: () => unknown) => job());
    return this.#nestedTransaction(run);
  }

  #flush(): void {
    this.#flushScheduled = false;
    const jobs = this.#pending.splice(0);
    if (jobs.length === 0) return;
    if (!this.db.open) {
      for (const job of jobs) job.reject(new Error('the SQLite store is closed'));
      return;
    }
    this.#batchTransaction ??= this.db.transaction((batch: readonly { run: () => unknown }[], outcomes: Outcome[]) => {
      for (const job of batch) {
        try {
          outcomes.push({ ok: true, value: this.#savepoint(job.run) });
        } catch (error) {
          outcomes.push({ ok: false, error });
        }
      }
    });
    const outcomes: Outcome[] = [];
    try {
      this.#batchTransaction.immediate(jobs, outcomes);
    } catch (error) {
      for (const job of jobs) job.reject(error);
      return;
    }
    jobs.forEach((job, index) => {
      const outcome = outcomes[index]!;
      if (outcome.ok) job.resolve(outcome.value);
      else job.reject(outcome.error);
    });
  }

  /** Opens (creating) the file, sets WAL, and applies pending migrations. */
  static open(options: SqliteStoreOptions): SqliteExecutionStore {
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    const db = new Database(options.path);
    try {
      db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      db.pragma('foreign_keys = ON');
      migrateSqlite(db);
    } catch (error) {
      db.close();
      throw error;
    }
    return new SqliteExecutionStore(db, options.path !== ':memory:');
  }

  async save(record: ExecutionRecord, meta: { flowHash?: string | undefined } = {}): Promise<void> {
    const terminal = (TERMINAL as readonly string[]).includes(record.status);
    const values = {
      id: record.executionId,
      flow: record.flow,
      version: record.version,
      hash: meta.flowHash ?? '',
      status: record.status,
      input: encodeValue(record.input),
      record: JSON.stringify(record),
      parent: record.parentId ?? null,
      correlation: record.correlationKey ?? null,
      terminal: terminal ? 1 : 0,
    };
    await this.#write(() =>
      this.#sql(
        `INSERT INTO flowd_executions (id, flow, flow_version, flow_hash, status, resumable, input, record, parent_id, correlation_key, created_at, finished_at)
         VALUES (@id, @flow, @version, @hash, @status, 0, @input, @record, @parent, @correlation, ${NOW}, CASE WHEN @terminal = 1 THEN ${NOW} END)
         ON CONFLICT (id) DO UPDATE SET status = excluded.status, record = excluded.record, finished_at = excluded.finished_at,
           correlation_key = excluded.correlation_key
         WHERE flowd_executions.resumable = 0`,
      ).run(values),
    );
  }

  async get(executionId: string): Promise<ExecutionRecord | undefined> {
    const row = this.#sql(`SELECT status, record FROM flowd_executions WHERE id = ?`).get(executionId) as
      | { status: ExecutionStatus; record: string }
      | undefined;
    return row === undefined ? undefined : toRecord(row);
  }

  async list(query: ExecutionQuery): Promise<ExecutionPage> {
    const rows = this.#sql(
      `SELECT id, status, record FROM flowd_executions
       WHERE (@flow IS NULL OR flow = @flow) AND (@status IS NULL OR status = @status) AND (@cursor IS NULL OR id < @cursor)
       ORDER BY id DESC LIMIT @limit`,
    ).all({ flow: query.flow ?? null, status: query.status ?? null, cursor: query.cursor ?? null, limit: query.limit + 1 }) as {
      id: string;
      status: ExecutionStatus;
      record: string;
    }[];
    const items = rows.slice(0, query.limit).map(toRecord);
    return rows.length > query.limit ? { items, nextCursor: items[items.length - 1]!.executionId } : { items };
  }

  async appendLogs(executionId: string, entries: readonly ExecutionLogEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const lines = entries.map((entry) => JSON.stringify(entry));
    await this.#write(() => {
      const exists = this.#sql(`SELECT 1 FROM flowd_executions WHERE id = ?`).get(executionId);
      if (exists === undefined) return;
      const { n } = this.#sql(`SELECT count(*) AS n FROM flowd_execution_logs WHERE execution_id = ?`).get(executionId) as { n: number };
      const insert = this.#sql(`INSERT INTO flowd_execution_logs (execution_id, entry) VALUES (?, ?)`);
      for (const line of lines.slice(0, Math.max(0, MAX_LOG_ENTRIES_PER_EXECUTION - n))) insert.run(executionId, line);
    });
  }

  async getLogs(executionId: string): Promise<ExecutionLogEntry[] | undefined> {
    const exists = this.#sql(`SELECT 1 FROM flowd_executions WHERE id = ?`).get(executionId);
    if (exists === undefined) return undefined;
    const rows = this.#sql(`SELECT entry FROM flowd_execution_logs WHERE execution_id = ? ORDER BY id`).all(executionId) as { entry: string }[];
    return rows.map((row) => JSON.parse(row.entry) as ExecutionLogEntry);
  }

  async close(): Promise<void> {
    this.#flush();
    if (this.db.open) this.db.close();
  }

  async now(): Promise<number> {
    return (this.#sql(`SELECT ${NOW} AS now`).get() as { now: number }).now;
  }

  async create(execution: NewExecution): Promise<CreateResult> {
    const running = execution.status === 'running';
    const values = {
      id: execution.executionId,
      flow: execution.flow,
      version: execution.version,
      hash: execution.flowHash,
      status: execution.status,
      input: encodeValue(execution.input),
      options: JSON.stringify(execution.options),
      record: JSON.stringify(execution.record),
      parent: execution.parentId ?? null,
      correlation: execution.options.correlationKey ?? null,
      key: execution.idempotency?.key ?? null,
      owner: running ? execution.owner! : null,
      epoch: running ? 1 : 0,
      running: running ? 1 : 0,
      leaseMs: execution.leaseMs,
    };
    return this.#write((): CreateResult => {
      const key = execution.idempotency;
      if (key !== undefined) {
        this.#sql(`DELETE FROM flowd_idempotency_keys WHERE key = ? AND expires_at <= ${NOW}`).run(key.key);
        const inserted = this.#sql(
          `INSERT INTO flowd_idempotency_keys (key, fingerprint, execution_id, created_at, expires_at)
           VALUES (?, ?, ?, ${NOW}, ${NOW} + ?) ON CONFLICT (key) DO NOTHING`,
        ).run(key.key, key.fingerprint, execution.executionId, key.ttlMs);
        if (inserted.changes === 0) {
          const taken = this.#sql(`SELECT execution_id, fingerprint FROM flowd_idempotency_keys WHERE key = ?`).get(key.key) as {
            execution_id: string;
            fingerprint: string;
          };
          return { created: false, executionId: taken.execution_id, fingerprint: taken.fingerprint };
        }
      }
      this.#sql(
        `INSERT INTO flowd_executions (id, flow, flow_version, flow_hash, status, resumable, input, options, record, parent_id, correlation_key,
           idempotency_key, created_at, lease_owner, lease_epoch, lease_expires_at, attempts)
         VALUES (@id, @flow, @version, @hash, @status, 1, @input, @options, @record, @parent, @correlation, @key, ${NOW}, @owner, @epoch,
           CASE WHEN @running = 1 THEN ${NOW} + @leaseMs END, @epoch)`,
      ).run(values);
      return { created: true, lease: running ? { executionId: execution.executionId, owner: execution.owner!, epoch: 1 } : undefined };
    });
  }

  async claim(request: ClaimRequest): Promise<ClaimedExecution[]> {
    if (request.flows.length === 0 || request.limit <= 0) return [];
    const keys = JSON.stringify(request.flows.map((flow) => flowKeyString(flow.name, flow.hash)));
    const rows = await this.#write((): ExecutionRow[] => {
      const ids = this.#sql(
        `SELECT id FROM flowd_executions
         WHERE resumable = 1 AND (flow || '@' || flow_hash) IN (SELECT value FROM json_each(?))
           AND (status = 'queued' OR (status = 'running' AND lease_expires_at < ${NOW}))
         ORDER BY id LIMIT ?`,
      ).all(keys, request.limit) as { id: string }[];
      const update = this.#sql(
        `UPDATE flowd_executions SET status = 'running', lease_owner = ?, lease_epoch = lease_epoch + 1,
           lease_expires_at = ${NOW} + ?, attempts = attempts + 1
         WHERE id = ?
         RETURNING id, flow, flow_hash, status, input, options, record, parent_id, lease_epoch, attempts, cancel_requested`,
      );
      return ids.map(({ id }) => update.get(request.owner, request.leaseMs, id) as ExecutionRow);
    });
    const checkpoints = this.#sql(`SELECT key, output, request FROM flowd_checkpoints WHERE execution_id = ?`);
    return rows.map((row) => {
      const saved = checkpoints.all(row.id) as { key: string; output: string | null; request: string | null }[];
      return claimedFrom(row, request.owner, saved);
    });
  }

  async heartbeat(owner: string, leases: readonly Lease[], leaseMs: number): Promise<HeartbeatResult> {
    if (leases.length === 0) return { lost: [], cancelRequested: [] };
    return this.#write((): HeartbeatResult => {
      const renew = this.#sql(
        `UPDATE flowd_executions SET lease_expires_at = ${NOW} + ?
         WHERE id = ? AND lease_epoch = ? AND lease_owner = ? AND status = 'running'
         RETURNING cancel_requested`,
      );
      const lost: string[] = [];
      const cancelRequested: string[] = [];
      for (const lease of leases) {
        const row = renew.get(leaseMs, lease.executionId, lease.epoch, owner) as { cancel_requested: number } | undefined;
        if (row === undefined) lost.push(lease.executionId);
        else if (row.cancel_requested === 1) cancelRequested.push(lease.executionId);
      }
      return { lost, cancelRequested };
    });
  }

  async checkpoint(lease: Lease, key: string, output: unknown, request: unknown, _leaseMs: number): Promise<void> {
    // One statement, fenced by the epoch: SQLite serialises writers, so the check and the insert
    // cannot be split by a claim. The execution row itself is not rewritten (the heartbeat renews).
    const values = { id: lease.executionId, epoch: lease.epoch, key, output: encodeValue(output), request: request === undefined ? null : encodeValue(request) };
    await this.#write(() => {
      const result = this.#sql(
        `INSERT INTO flowd_checkpoints (execution_id, key, output, request, epoch, created_at)
         SELECT id, @key, @output, @request, @epoch, ${NOW} FROM flowd_executions WHERE id = @id AND lease_epoch = @epoch AND status = 'running'
         ON CONFLICT (execution_id, key) DO UPDATE SET output = excluded.output, request = excluded.request, epoch = excluded.epoch,
           created_at = excluded.created_at`,
      ).run(values);
      if (result.changes === 0) throw new LeaseLostError(`checkpoint "${key}" refused: execution ${lease.executionId} is no longer held at epoch ${lease.epoch}`);
    });
  }

  async finish(lease: Lease, record: ExecutionRecord): Promise<void> {
    const text = JSON.stringify(record);
    await this.#write(() => {
      const result = this.#sql(
        `UPDATE flowd_executions SET status = ?, record = ?, correlation_key = ?, finished_at = ${NOW}, lease_owner = NULL, lease_expires_at = NULL
         WHERE id = ? AND lease_epoch = ? AND status = 'running'`,
      ).run(record.status, text, record.correlationKey ?? null, lease.executionId, lease.epoch);
      if (result.changes === 0) throw new LeaseLostError(`final write refused: execution ${lease.executionId} is no longer held at epoch ${lease.epoch}`);
    });
  }

  async release(leases: readonly Lease[]): Promise<void> {
    await this.#write(() => {
      const update = this.#sql(`UPDATE flowd_executions SET lease_expires_at = 0 WHERE id = ? AND lease_epoch = ? AND status = 'running'`);
      for (const lease of leases) update.run(lease.executionId, lease.epoch);
    });
  }

  async cancel(executionId: string, update: (current: ExecutionRecord) => ExecutionRecord): Promise<CancelOutcome> {
    return this.#write((): CancelOutcome => {
      const row = this.#sql(`SELECT status, record, resumable FROM flowd_executions WHERE id = ?`).get(executionId) as
        | { status: ExecutionStatus; record: string; resumable: number }
        | undefined;
      if (row === undefined) return 'not_found';
      if ((TERMINAL as readonly string[]).includes(row.status)) return 'terminal';
      if (row.status === 'queued') {
        const record = update(toRecord(row));
        this.#sql(`UPDATE flowd_executions SET status = ?, record = ?, finished_at = ${NOW} WHERE id = ? AND status = 'queued'`)
          .run(record.status, JSON.stringify(record), executionId);
        return 'cancelled';
      }
      this.#sql(`UPDATE flowd_executions SET cancel_requested = 1 WHERE id = ?`).run(executionId);
      return 'requested';
    });
  }

  async findSucceeded(flow: string, correlationKey: string | undefined, withinMs: number): Promise<ExecutionRecord | undefined> {
    const row = this.#sql(
      `SELECT status, record FROM flowd_executions
       WHERE flow = @flow AND status = 'succeeded' AND (@key IS NULL OR correlation_key = @key) AND finished_at >= ${NOW} - @within
       ORDER BY finished_at DESC, id DESC LIMIT 1`,
    ).get({ flow, key: correlationKey ?? null, within: withinMs }) as { status: ExecutionStatus; record: string } | undefined;
    return row === undefined ? undefined : toRecord(row);
  }

  async purge(olderThanMs: number, batchSize: number): Promise<number> {
    return this.#write((): number => {
      const ids = this.#sql(
        `SELECT id FROM flowd_executions WHERE finished_at < ${NOW} - ? AND status IN (${TERMINAL_LIST}) ORDER BY finished_at LIMIT ?`,
      ).all(olderThanMs, batchSize) as { id: string }[];
      const list = JSON.stringify(ids.map((row) => row.id));
      let removed = 0;
      if (ids.length > 0) {
        this.#sql(`DELETE FROM flowd_idempotency_keys WHERE execution_id IN (SELECT value FROM json_each(?))`).run(list);
        removed += this.#sql(`DELETE FROM flowd_executions WHERE id IN (SELECT value FROM json_each(?))`).run(list).changes;
      }
      removed += this.#sql(`DELETE FROM flowd_idempotency_keys WHERE key IN (SELECT key FROM flowd_idempotency_keys WHERE expires_at <= ${NOW} LIMIT ?)`)
        .run(batchSize).changes;
      return removed;
    });
  }

  async pendingElsewhere(flows: readonly FlowKey[]): Promise<PendingDefinition[]> {
    const keys = JSON.stringify(flows.map((flow) => flowKeyString(flow.name, flow.hash)));
    const rows = this.#sql(
      `SELECT flow, flow_hash, count(*) AS n FROM flowd_executions
       WHERE resumable = 1 AND (status = 'queued' OR (status = 'running' AND lease_expires_at < ${NOW}))
         AND (flow || '@' || flow_hash) NOT IN (SELECT value FROM json_each(?))
       GROUP BY flow, flow_hash LIMIT 50`,
    ).all(keys) as { flow: string; flow_hash: string; n: number }[];
    return rows.map((row) => ({ flow: row.flow, flowHash: row.flow_hash, count: row.n }));
  }

  async getCheckpoints(executionId: string): Promise<StoredPhaseOutputs | undefined> {
    const rows = this.#sql(`SELECT key, output, request FROM flowd_checkpoints WHERE execution_id = ?`).all(executionId) as {
      key: string;
      output: string | null;
      request: string | null;
    }[];
    return rows.length === 0 ? undefined : phaseOutputs(rows);
  }

  /** Applied migration versions (tests). */
  appliedMigrations(): number[] {
    return (this.#sql(`SELECT version FROM flowd_migrations ORDER BY version`).all() as { version: number }[]).map((row) => row.version);
  }

  /** Runs pending migrations again (idempotent); returns how many were applied. */
  migrate(): number {
    return migrateSqlite(this.db);
  }
}

/** Applies pending migrations in one IMMEDIATE transaction (serialised across processes). */
function migrateSqlite(db: Database.Database): number {
  const run = db.transaction((): number => {
    db.exec(`CREATE TABLE IF NOT EXISTS flowd_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
    const applied = new Set((db.prepare(`SELECT version FROM flowd_migrations`).all() as { version: number }[]).map((row) => row.version));
    let count = 0;
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.version)) continue;
      for (const statement of migration.sqlite) db.exec(statement);
      db.prepare(`INSERT INTO flowd_migrations (version, name, applied_at) VALUES (?, ?, ${NOW})`).run(migration.version, migration.name);
      count += 1;
    }
    return count;
  });
  return run.immediate();
}
