import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import {
  TERMINAL,
  flowKeyString,
  lostLease,
  type CancelOutcome,
  type ClaimRequest,
  type ClaimedExecution,
  type CreateResult,
  type ExecutionPage,
  type ExecutionQuery,
  type ExecutionStore,
  type FinishedSummary,
  type FlowKey,
  type HeartbeatResult,
  type JournalRow,
  type Lease,
  type NewExecution,
  type PendingDefinition,
  type SavedExecution,
  type StoredExecution,
  type SucceededQuery,
} from './execution-store.js';
import { migrateSqlite } from './migrations/runner.js';
import { NOW, SqliteGroupCommit } from './sqlite-group-commit.js';
import { rowsSize, type GroupCommitOptions } from './group-commit-bounds.js';
import { SqliteSignals } from './signals/sqlite-signals.js';
import type { Suspension, WaitingCount } from './signals/signal-store.js';
import { SUMMARY_COLUMNS, toOptions, toSummary, type SummaryRow } from './summary-row.js';
import { lastOfType, packRows, unpackRows } from './journal-packing.js';

const TERMINAL_LIST = TERMINAL.map((status) => `'${status}'`).join(', ');
const CLAIMABLE = `(status = 'queued' OR (status = 'running' AND lease_expires_at < ${NOW}) OR (status = 'waiting' AND wake_at <= ${NOW}))`;
const DEFINITION_KEYS = `(flow || '@' || flow_hash) IN (SELECT value FROM json_each(@keys))`;

export interface SqliteStoreOptions {
  /** File path (its directory is created), or `:memory:`. */
  readonly path: string;
  /** `normal` (default): survives a process crash; `full`: also an OS crash or power loss, slower. */
  readonly synchronous?: 'normal' | 'full';
  readonly busyTimeoutMs?: number;
  /** Bounds of one group-commit transaction (rows, bytes). */
  readonly groupCommit?: GroupCommitOptions;
}

type Row = { seq: number; type: string; data: string; state: string | null };
type ExecutionRow = SummaryRow & { options: string | null; lease_epoch: number; attempts: number; cancel_requested: number };

/**
 * The embedded store: one SQLite file in WAL mode. Writes are group-committed (one IMMEDIATE
 * transaction per turn of the event loop, sqlite-group-commit.ts), so two processes sharing the
 * file stay correct (the second waits up to busy_timeout) and concurrent executions share fsyncs.
 */
export class SqliteExecutionStore implements ExecutionStore {
  readonly kind = 'sqlite' as const;
  readonly durable: boolean;
  readonly db: Database.Database;
  readonly #writes: SqliteGroupCommit;
  readonly signals: SqliteSignals;
  /** Prepared once per SQL text: preparing costs more than running these small statements. */
  readonly #statements = new Map<string, Database.Statement>();

  private constructor(db: Database.Database, durable: boolean, groupCommit: GroupCommitOptions | undefined) {
    this.db = db;
    this.durable = durable;
    this.#writes = new SqliteGroupCommit(db, groupCommit);
    this.signals = new SqliteSignals(db, this.#writes);
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
    return new SqliteExecutionStore(db, options.path !== ':memory:', options.groupCommit);
  }

  #sql(source: string): Database.Statement {
    let statement = this.#statements.get(source);
    if (statement === undefined) {
      statement = this.db.prepare(source);
      this.#statements.set(source, statement);
    }
    return statement;
  }

  async now(): Promise<number> {
    return (this.#sql(`SELECT ${NOW} AS now`).get() as { now: number }).now;
  }

  async create(execution: NewExecution): Promise<CreateResult> {
    const running = execution.status === 'running';
    return this.#writes.write((): CreateResult => {
      const key = execution.idempotency;
      if (key !== undefined) {
        this.#sql(`DELETE FROM flowd_idempotency_keys WHERE key = ? AND expires_at <= ${NOW}`).run(key.key);
        const inserted = this.#sql(
          `INSERT INTO flowd_idempotency_keys (key, fingerprint, execution_id, created_at, expires_at)
           VALUES (?, ?, ?, ${NOW}, ${NOW} + ?) ON CONFLICT (key) DO NOTHING`,
        ).run(key.key, key.fingerprint, execution.executionId, key.ttlMs);
        if (inserted.changes === 0) {
          const taken = this.#sql(`SELECT execution_id, fingerprint FROM flowd_idempotency_keys WHERE key = ?`).get(key.key) as { execution_id: string; fingerprint: string };
          return { created: false, executionId: taken.execution_id, fingerprint: taken.fingerprint };
        }
      }
      this.#sql(
        `INSERT INTO flowd_executions (id, flow, flow_version, flow_hash, status, tenant, options, parent_id, correlation_key, started_at,
           lease_owner, lease_epoch, lease_expires_at, attempts)
         VALUES (@id, @flow, @version, @hash, @status, @tenant, @options, @parent, @correlation, ${NOW}, @owner, @epoch,
           CASE WHEN @epoch = 1 THEN ${NOW} + @leaseMs END, @epoch)`,
      ).run({
        id: execution.executionId,
        flow: execution.flow,
        version: execution.version,
        hash: execution.flowHash,
        status: execution.status,
        tenant: execution.tenant,
        options: JSON.stringify(execution.options),
        parent: execution.parentId ?? null,
        correlation: execution.correlationKey ?? null,
        owner: running ? (execution.owner ?? null) : null,
        epoch: running ? 1 : 0,
        leaseMs: execution.leaseMs,
      });
      this.#insertRows(execution.executionId, execution.rows, false, true);
      return { created: true, lease: running ? { executionId: execution.executionId, owner: execution.owner!, epoch: 1 } : undefined };
    }, weigh(execution.rows));
  }

  async append(lease: Lease, rows: readonly JournalRow[], leaseMs: number): Promise<void> {
    await this.#writes.write(() => {
      const held = this.#sql(
        `UPDATE flowd_executions SET lease_expires_at = CASE WHEN lease_expires_at < ${NOW} + @leaseMs / 2 THEN ${NOW} + @leaseMs ELSE lease_expires_at END
         WHERE id = @id AND lease_epoch = @epoch AND status = 'running'`,
      ).run({ leaseMs, id: lease.executionId, epoch: lease.epoch });
      if (held.changes === 0) throw lostLease('append', lease);
      this.#insertRows(lease.executionId, rows, false);
    }, weigh(rows));
  }

  async finish(lease: Lease, rows: readonly JournalRow[], summary: FinishedSummary, options: { clearState?: boolean } = {}): Promise<void> {
    const clear = options.clearState === true;
    await this.#writes.write(() => {
      const held = this.#sql(
        `UPDATE flowd_executions SET status = ?, error_code = ?, recovered = ?, finished_at = ${NOW}, lease_owner = NULL, lease_expires_at = NULL
         WHERE id = ? AND lease_epoch = ? AND status = 'running'`,
      ).run(summary.status, summary.errorCode ?? null, flag(summary.recovered), lease.executionId, lease.epoch);
      if (held.changes === 0) throw lostLease('final write', lease);
      this.#insertRows(lease.executionId, rows, clear);
      if (clear) this.#sql(`UPDATE flowd_journal SET state = NULL WHERE execution_id = ? AND state IS NOT NULL`).run(lease.executionId);
    }, weigh(rows));
  }

  async suspend(lease: Lease, rows: readonly JournalRow[], suspension: Suspension): Promise<void> {
    await this.#writes.write(() => {
      // One IMMEDIATE transaction: a signal delivered while the run was stopping is committed
      // before it (and seen here) or after it (and wakes the waiting row).
      const held = this.#sql(
        `UPDATE flowd_executions SET status = 'waiting', waiting_for = @waitingFor, waiting_signal = @signal, attempts = 0, lease_owner = NULL,
           lease_expires_at = NULL,
           wake_at = CASE WHEN cancel_requested = 1 OR EXISTS (SELECT 1 FROM flowd_signals WHERE execution_id = @id AND name = @signal AND taken_by IS NULL)
             THEN ${NOW} ELSE @wakeAt END
         WHERE id = @id AND lease_epoch = @epoch AND status = 'running'`,
      ).run({ id: lease.executionId, epoch: lease.epoch, wakeAt: suspension.wakeAt, waitingFor: suspension.waitingFor, signal: suspension.signal ?? null });
      if (held.changes === 0) throw lostLease('suspension', lease);
      this.#insertRows(lease.executionId, rows, false);
    }, weigh(rows));
  }

  async countWaiting(): Promise<WaitingCount[]> {
    const rows = this.#sql(`SELECT flow, waiting_for, count(*) AS n FROM flowd_executions WHERE status = 'waiting' GROUP BY flow, waiting_for`)
      .all() as { flow: string; waiting_for: WaitingCount['waitingFor'] | null; n: number }[];
    return rows.flatMap((row) => (row.waiting_for === null ? [] : [{ flow: row.flow, waitingFor: row.waiting_for, count: row.n }]));
  }

  async save(execution: SavedExecution): Promise<void> {
    await this.#writes.write(() => {
      const inserted = this.#sql(
        `INSERT INTO flowd_executions (id, flow, flow_version, flow_hash, status, tenant, parent_id, correlation_key, started_at, finished_at,
           error_code, recovered)
         VALUES (@id, @flow, @version, @hash, @status, @tenant, @parent, @correlation, coalesce(@startedAt, ${NOW}), ${NOW}, @errorCode, @recovered)
         ON CONFLICT (id) DO NOTHING`,
      ).run({
        id: execution.executionId,
        flow: execution.flow,
        version: execution.version,
        hash: execution.flowHash,
        status: execution.summary.status,
        tenant: execution.tenant,
        parent: execution.parentId ?? null,
        correlation: execution.correlationKey ?? null,
        startedAt: execution.startedAt ?? null,
        errorCode: execution.summary.errorCode ?? null,
        recovered: flag(execution.summary.recovered),
      });
      if (inserted.changes > 0) this.#insertRows(execution.executionId, execution.rows, false, true);
    }, weigh(execution.rows));
  }

  /**
   * Rows whose `seq` is stored already are left out (a retried write): the journal is stored as a
   * prefix, so that is every row up to its last stored `seq`. `fresh`: the execution was inserted
   * in this transaction (nothing of its journal is stored).
   */
  #insertRows(executionId: string, rows: readonly JournalRow[], clearState: boolean, fresh = false): void {
    const last = fresh ? null : (this.#sql(`SELECT max(seq) AS seq FROM flowd_journal WHERE execution_id = ?`).get(executionId) as { seq: number | null }).seq;
    const insert = this.#sql(`INSERT INTO flowd_journal (execution_id, seq, type, data, state) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`);
    const unstored = last === null ? rows : rows.filter((row) => row.seq > last);
    for (const row of packRows(unstored)) insert.run(executionId, row.seq, row.type, row.data, clearState ? null : row.state);
  }

  async get(executionId: string, options: { withState?: boolean } = {}): Promise<StoredExecution | undefined> {
    // One read transaction: the summary and the rows of the same moment.
    return this.db.transaction((): StoredExecution | undefined => {
      const row = this.#sql(`SELECT ${SUMMARY_COLUMNS}, options FROM flowd_executions WHERE id = ?`).get(executionId) as ExecutionRow | undefined;
      if (row === undefined) return undefined;
      return { summary: toSummary(row), options: toOptions(row.options), rows: this.#rows(executionId, options.withState === true) };
    })();
  }

  #rows(executionId: string, withState: boolean): JournalRow[] {
    const state = withState ? 'state' : 'NULL AS state';
    return unpackRows(this.#sql(`SELECT seq, type, data, ${state} FROM flowd_journal WHERE execution_id = ? ORDER BY seq`).all(executionId) as Row[]);
  }

  async list(query: ExecutionQuery): Promise<ExecutionPage> {
    const where: string[] = [];
    if (query.flow !== undefined) where.push('flow = @flow');
    if (query.status !== undefined) where.push('status = @status');
    if (query.tenant !== undefined) where.push('tenant = @tenant');
    if (query.cursor !== undefined) where.push('id < @cursor');
    const rows = this.#sql(
      `SELECT ${SUMMARY_COLUMNS} FROM flowd_executions ${where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`} ORDER BY id DESC LIMIT @limit`,
    ).all({ flow: query.flow, status: query.status, tenant: query.tenant, cursor: query.cursor, limit: query.limit + 1 }) as SummaryRow[];
    const items = rows.slice(0, query.limit).map(toSummary);
    return rows.length > query.limit ? { items, nextCursor: items[items.length - 1]!.executionId } : { items };
  }

  async claim(request: ClaimRequest): Promise<ClaimedExecution[]> {
    if (request.flows.length === 0 || request.limit <= 0) return [];
    const keys = JSON.stringify(request.flows.map((flow) => flowKeyString(flow.name, flow.hash)));
    return this.#writes.write((): ClaimedExecution[] => {
      // Fair between tenants: each tenant's oldest first, then each tenant's second, and so on.
      const picked = this.#sql(
        `SELECT id FROM (
           SELECT id, row_number() OVER (PARTITION BY tenant ORDER BY id) AS turn FROM flowd_executions WHERE ${CLAIMABLE} AND ${DEFINITION_KEYS}
         ) ORDER BY turn, id LIMIT @limit`,
      ).all({ keys, limit: request.limit }) as { id: string }[];
      const take = this.#sql(
        `UPDATE flowd_executions SET status = 'running', wake_at = NULL, waiting_for = NULL, waiting_signal = NULL, lease_owner = ?, lease_epoch = lease_epoch + 1, lease_expires_at = ${NOW} + ?, attempts = attempts + 1
         WHERE id = ? RETURNING ${SUMMARY_COLUMNS}, options, lease_epoch, attempts, cancel_requested`,
      );
      return picked.map(({ id }) => {
        const row = take.get(request.owner, request.leaseMs, id) as ExecutionRow;
        return {
          lease: { executionId: id, owner: request.owner, epoch: row.lease_epoch },
          summary: toSummary(row),
          options: toOptions(row.options),
          attempts: row.attempts,
          cancelRequested: row.cancel_requested === 1,
          rows: this.#rows(id, true),
        };
      });
    });
  }

  async heartbeat(owner: string, leases: readonly Lease[], leaseMs: number): Promise<HeartbeatResult> {
    if (leases.length === 0) return { lost: [], cancelRequested: [] };
    return this.#writes.write((): HeartbeatResult => {
      const renew = this.#sql(
        `UPDATE flowd_executions SET lease_expires_at = ${NOW} + ?
         WHERE id = ? AND lease_epoch = ? AND lease_owner = ? AND status = 'running' RETURNING cancel_requested`,
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

  async release(leases: readonly Lease[]): Promise<void> {
    if (leases.length === 0) return;
    await this.#writes.write(() => {
      const update = this.#sql(`UPDATE flowd_executions SET lease_expires_at = 0 WHERE id = ? AND lease_epoch = ? AND status = 'running'`);
      for (const lease of leases) update.run(lease.executionId, lease.epoch);
    });
  }

  async cancel(executionId: string, rows: readonly JournalRow[], summary: FinishedSummary): Promise<CancelOutcome> {
    return this.#writes.write((): CancelOutcome => {
      const row = this.#sql(`SELECT status FROM flowd_executions WHERE id = ?`).get(executionId) as { status: string } | undefined;
      if (row === undefined) return 'not_found';
      if ((TERMINAL as readonly string[]).includes(row.status)) return 'terminal';
      if (row.status === 'queued') {
        this.#sql(`UPDATE flowd_executions SET status = ?, error_code = ?, recovered = ?, finished_at = ${NOW} WHERE id = ?`)
          .run(summary.status, summary.errorCode ?? null, flag(summary.recovered), executionId);
        this.#insertRows(executionId, rows, false);
        return 'cancelled';
      }
      // A waiting execution is woken too, so a worker resumes it and ends it.
      this.#sql(`UPDATE flowd_executions SET cancel_requested = 1, wake_at = CASE WHEN status = 'waiting' THEN ${NOW} ELSE wake_at END WHERE id = ?`)
        .run(executionId);
      return 'requested';
    }, weigh(rows));
  }

  async countQueued(tenant?: string): Promise<number> {
    const count = tenant === undefined
      ? this.#sql(`SELECT count(*) AS n FROM flowd_executions WHERE status = 'queued'`).get()
      : this.#sql(`SELECT count(*) AS n FROM flowd_executions WHERE status = 'queued' AND tenant = ?`).get(tenant);
    return (count as { n: number }).n;
  }

  async countWaitingOf(tenant: string): Promise<number> {
    return (this.#sql(`SELECT count(*) AS n FROM flowd_executions WHERE status = 'waiting' AND tenant = ?`).get(tenant) as { n: number }).n;
  }

  async findIdempotencyKey(key: string): Promise<{ executionId: string; fingerprint: string } | undefined> {
    const taken = this.#sql(`SELECT execution_id, fingerprint FROM flowd_idempotency_keys WHERE key = ? AND expires_at > ${NOW}`).get(key) as
      | { execution_id: string; fingerprint: string }
      | undefined;
    return taken === undefined ? undefined : { executionId: taken.execution_id, fingerprint: taken.fingerprint };
  }

  async findSucceeded(query: SucceededQuery): Promise<{ executionId: string; finished: JournalRow } | undefined> {
    const byKey = query.correlationKey === undefined ? '' : 'AND correlation_key = @key';
    const found = this.#sql(
      `SELECT e.id, j.seq, j.type, j.data, j.state FROM (
         SELECT id FROM flowd_executions
         WHERE flow = @flow AND tenant = @tenant AND status = 'succeeded' ${byKey} AND finished_at >= ${NOW} - @within
         ORDER BY finished_at DESC, id DESC LIMIT 1
       ) e JOIN flowd_journal j ON j.execution_id = e.id AND j.type = 'execution_finished'
       ORDER BY j.seq DESC LIMIT 1`,
    ).get({ flow: query.flow, tenant: query.tenant, key: query.correlationKey, within: query.withinMs }) as (Row & { id: string }) | undefined;
    const finished = found === undefined ? undefined : lastOfType(found, 'execution_finished');
    return finished === undefined ? undefined : { executionId: found!.id, finished };
  }

  async purge(olderThanMs: number, batchSize: number): Promise<number> {
    return this.#writes.write((): number => {
      const ids = JSON.stringify(
        (this.#sql(`SELECT id FROM flowd_executions WHERE finished_at < ${NOW} - ? AND status IN (${TERMINAL_LIST}) ORDER BY finished_at LIMIT ?`)
          .all(olderThanMs, batchSize) as { id: string }[]).map((row) => row.id),
      );
      const inList = `IN (SELECT value FROM json_each(?))`;
      for (const table of ['flowd_journal', 'flowd_signals', 'flowd_callbacks']) this.#sql(`DELETE FROM ${table} WHERE execution_id ${inList}`).run(ids);
      let removed = this.#sql(`DELETE FROM flowd_executions WHERE id ${inList}`).run(ids).changes;
      removed += this.#sql(`DELETE FROM flowd_idempotency_keys WHERE execution_id ${inList}`).run(ids).changes;
      removed += this.#sql(`DELETE FROM flowd_idempotency_keys WHERE key IN (SELECT key FROM flowd_idempotency_keys WHERE expires_at <= ${NOW} LIMIT ?)`)
        .run(batchSize).changes;
      return removed;
    });
  }

  async pendingElsewhere(flows: readonly FlowKey[]): Promise<PendingDefinition[]> {
    const keys = JSON.stringify(flows.map((flow) => flowKeyString(flow.name, flow.hash)));
    const rows = this.#sql(
      `SELECT flow, flow_hash, count(*) AS n FROM flowd_executions WHERE ${CLAIMABLE} AND NOT ${DEFINITION_KEYS} GROUP BY flow, flow_hash LIMIT 50`,
    ).all({ keys }) as { flow: string; flow_hash: string; n: number }[];
    return rows.map((row) => ({ flow: row.flow, flowHash: row.flow_hash, count: row.n }));
  }

  async close(): Promise<void> {
    this.#writes.flush();
    if (this.db.open) this.db.close();
  }

  /** Group-commit transactions, the writes they carried, and batches run again write by write (tests, diagnostics). */
  writeStats(): { transactions: number; operations: number; reruns: number } {
    return this.#writes.stats();
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

function weigh(rows: readonly JournalRow[]): { rows: number; bytes: number } {
  return { rows: rows.length, bytes: rowsSize(rows) };
}

function flag(value: boolean | undefined): number | null {
  return value === undefined ? null : value ? 1 : 0;
}
