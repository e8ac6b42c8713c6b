import pg from 'pg';
import {
  TERMINAL,
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
import { migratePostgres } from './migrations/runner.js';
import { NOW } from './postgres-batch.js';
import { PostgresGroupCommit, type PostgresGroupCommitOptions, type WriteStats } from './postgres-group-commit.js';
import { CLAIM_STATEMENT, HEARTBEAT_STATEMENT, PURGE_STATEMENT } from './postgres-queue-sql.js';
import { inTransaction } from './postgres-transaction.js';
import { PostgresSignals } from './signals/postgres-signals.js';
import type { Suspension, WaitingCount } from './signals/signal-store.js';
import { SUMMARY_COLUMNS, qualified, toOptions, toSummary, type SummaryRow } from './summary-row.js';
import { lastOfType, packRows, unpackRows } from './journal-packing.js';

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const CLAIMABLE = `(status = 'queued' OR (status = 'running' AND lease_expires_at < ${NOW}) OR (status = 'waiting' AND wake_at <= ${NOW}))`;

export interface PostgresStoreOptions {
  readonly connectionString: string;
  /** Schema holding flowd's tables (created if missing). Default `public`. */
  readonly schema?: string;
  readonly poolMax?: number;
  /** Called when an idle pooled connection fails (logged by the service). */
  readonly onPoolError?: (error: Error) => void;
  /** How writes are batched (postgres-group-commit.ts). */
  readonly groupCommit?: PostgresGroupCommitOptions;
}

type Row = { seq: number; type: string; data: string; state: string | null };
type ExecutionRow = SummaryRow & { options: string | null };
type ClaimedRow = ExecutionRow & { lease_epoch: number; attempts: number; cancel_requested: boolean };

/**
 * PostgreSQL store for one or many replicas. Writes of concurrent executions are group-committed
 * (one statement per batch, fenced per execution by its lease epoch: postgres-group-commit.ts);
 * async work is claimed in batches with `FOR UPDATE SKIP LOCKED`, fairly between tenants.
 */
export class PostgresExecutionStore implements ExecutionStore {
  readonly kind = 'postgres' as const;
  readonly durable = true;
  readonly pool: pg.Pool;
  readonly schema: string;
  readonly #writes: PostgresGroupCommit;
  readonly signals: PostgresSignals;

  private constructor(pool: pg.Pool, schema: string, groupCommit: PostgresGroupCommitOptions | undefined) {
    this.pool = pool;
    this.schema = schema;
    this.#writes = new PostgresGroupCommit(pool, groupCommit);
    this.signals = new PostgresSignals(pool);
  }

  /** Connects, creates the schema if needed and applies pending migrations under an advisory lock. */
  static async open(options: PostgresStoreOptions): Promise<PostgresExecutionStore> {
    const schema = options.schema ?? 'public';
    if (!SCHEMA_NAME.test(schema)) throw new Error(`invalid DATABASE_SCHEMA "${schema}" (lower-case letters, digits, underscores)`);
    const pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.poolMax ?? 10,
      options: `-c search_path=${schema}`,
      application_name: 'flowd',
    });
    pool.on('error', (error) => options.onPoolError?.(error));
    const store = new PostgresExecutionStore(pool, schema, options.groupCommit);
    try {
      await store.migrate();
    } catch (error) {
      await pool.end();
      throw error;
    }
    return store;
  }

  /** Applies pending migrations (up to `target`); returns how many were applied. */
  async migrate(target?: number): Promise<number> {
    const client = await this.pool.connect();
    try {
      return await migratePostgres(client, this.schema, target);
    } finally {
      client.release();
    }
  }

  async appliedMigrations(): Promise<number[]> {
    return (await this.pool.query<{ version: number }>(`SELECT version FROM flowd_migrations ORDER BY version`)).rows.map((row) => row.version);
  }

  /** What the group commit sent since the store opened (tests, diagnostics). */
  writeStats(): WriteStats {
    return this.#writes.stats();
  }

  async now(): Promise<number> {
    const { rows } = await this.pool.query<{ now: string }>({ name: 'flowd_now', text: `SELECT ${NOW} AS now` });
    return Number(rows[0]!.now);
  }

  create(execution: NewExecution): Promise<CreateResult> {
    return this.#writes.write({ kind: 'create', execution });
  }

  append(lease: Lease, rows: readonly JournalRow[], leaseMs: number): Promise<void> {
    return this.#writes.write({ kind: 'append', lease, rows, leaseMs });
  }

  finish(lease: Lease, rows: readonly JournalRow[], summary: FinishedSummary, options: { clearState?: boolean } = {}): Promise<void> {
    return this.#writes.write({ kind: 'finish', lease, rows, summary, clearState: options.clearState === true });
  }

  /**
   * Its own transaction, not a write batch: the row is locked first (fenced), then a new statement
   * decides the wake time, so it sees a signal whose delivery committed while it waited for the
   * lock; a delivery that comes after finds the row waiting and wakes it (postgres-signals.ts).
   */
  async suspend(lease: Lease, rows: readonly JournalRow[], suspension: Suspension): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      const held = await client.query(`SELECT 1 FROM flowd_executions WHERE id = $1 AND lease_epoch = $2 AND status = 'running' FOR NO KEY UPDATE`, [
        lease.executionId,
        lease.epoch,
      ]);
      if (held.rows.length === 0) throw lostLease('suspension', lease);
      await insertRows(client, lease.executionId, rows);
      await client.query(
        `UPDATE flowd_executions SET status = 'waiting', waiting_for = $3, waiting_signal = $4, attempts = 0, lease_owner = NULL, lease_expires_at = NULL,
           wake_at = CASE WHEN cancel_requested OR EXISTS (SELECT 1 FROM flowd_signals WHERE execution_id = $1 AND name = $4 AND taken_by IS NULL)
             THEN ${NOW} ELSE $2::bigint END
         WHERE id = $1`,
        [lease.executionId, suspension.wakeAt, suspension.waitingFor, suspension.signal ?? null],
      );
    });
  }

  async countWaiting(): Promise<WaitingCount[]> {
    const { rows } = await this.pool.query<{ flow: string; waiting_for: WaitingCount['waitingFor']; n: string }>(
      `SELECT flow, waiting_for, count(*) AS n FROM flowd_executions WHERE status = 'waiting' AND waiting_for IS NOT NULL GROUP BY flow, waiting_for`,
    );
    return rows.map((row) => ({ flow: row.flow, waitingFor: row.waiting_for, count: Number(row.n) }));
  }

  save(execution: SavedExecution): Promise<void> {
    return this.#writes.write({ kind: 'save', execution });
  }

  async get(executionId: string, options: { withState?: boolean } = {}): Promise<StoredExecution | undefined> {
    // One statement: the summary and the rows of the same snapshot.
    const { rows } = await this.pool.query<ExecutionRow & { seq: number | null; type: string; data: string; state: string | null }>({
      name: 'flowd_get',
      text: `SELECT ${qualified('e', SUMMARY_COLUMNS)}, e.options, j.seq, j.type, j.data, CASE WHEN $2 THEN j.state END AS state
             FROM flowd_executions e LEFT JOIN flowd_journal j ON j.execution_id = e.id WHERE e.id = $1 ORDER BY j.seq`,
      values: [executionId, options.withState === true],
    });
    const first = rows[0];
    if (first === undefined) return undefined;
    return {
      summary: toSummary(first),
      options: toOptions(first.options),
      rows: first.seq === null ? [] : unpackRows(rows as Row[]),
    };
  }

  async list(query: ExecutionQuery): Promise<ExecutionPage> {
    const where: string[] = [];
    const values: unknown[] = [];
    const filter = (column: string, operator: string, value: string | undefined): void => {
      if (value === undefined) return;
      values.push(value);
      where.push(`${column} ${operator} $${values.length}`);
    };
    filter('flow', '=', query.flow);
    filter('status', '=', query.status);
    filter('tenant', '=', query.tenant);
    filter('id', '<', query.cursor);
    values.push(query.limit + 1);
    const { rows } = await this.pool.query<SummaryRow>(
      `SELECT ${SUMMARY_COLUMNS} FROM flowd_executions ${where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`} ORDER BY id DESC LIMIT $${values.length}`,
      values,
    );
    const items = rows.slice(0, query.limit).map(toSummary);
    return rows.length > query.limit ? { items, nextCursor: items[items.length - 1]!.executionId } : { items };
  }

  async claim(request: ClaimRequest): Promise<ClaimedExecution[]> {
    if (request.flows.length === 0 || request.limit <= 0) return [];
    const claimed = await this.pool.query<ClaimedRow>({
      name: 'flowd_claim',
      text: CLAIM_STATEMENT,
      values: [request.flows.map((flow) => flow.name), request.flows.map((flow) => flow.hash), request.limit, request.owner, request.leaseMs],
    });
    if (claimed.rows.length === 0) return [];
    // Read after the claim committed: every row the previous holder wrote is visible now, and it
    // can write no more (its epoch is stale).
    const ids = claimed.rows.map((row) => row.id);
    const journal = await this.pool.query<Row & { execution_id: string }>({
      name: 'flowd_claimed_rows',
      text: `SELECT execution_id, seq, type, data, state FROM flowd_journal WHERE execution_id = ANY($1::text[]) ORDER BY execution_id, seq`,
      values: [ids],
    });
    const storedOf = new Map<string, Row[]>(ids.map((id) => [id, []]));
    for (const row of journal.rows) storedOf.get(row.execution_id)!.push(row);
    return claimed.rows
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .map((row) => ({
        lease: { executionId: row.id, owner: request.owner, epoch: row.lease_epoch },
        summary: toSummary(row),
        options: toOptions(row.options),
        attempts: row.attempts,
        cancelRequested: row.cancel_requested,
        rows: unpackRows(storedOf.get(row.id)!),
      }));
  }

  async heartbeat(owner: string, leases: readonly Lease[], leaseMs: number): Promise<HeartbeatResult> {
    if (leases.length === 0) return { lost: [], cancelRequested: [] };
    const { rows } = await this.pool.query<{ id: string; cancel_requested: boolean }>({
      name: 'flowd_heartbeat',
      text: HEARTBEAT_STATEMENT,
      values: [leases.map((lease) => lease.executionId), leases.map((lease) => lease.epoch), owner, leaseMs],
    });
    const renewed = new Set(rows.map((row) => row.id));
    return {
      lost: leases.filter((lease) => !renewed.has(lease.executionId)).map((lease) => lease.executionId),
      cancelRequested: rows.filter((row) => row.cancel_requested).map((row) => row.id),
    };
  }

  async release(leases: readonly Lease[]): Promise<void> {
    if (leases.length === 0) return;
    await this.pool.query(
      `UPDATE flowd_executions e SET lease_expires_at = 0
       FROM (SELECT e.id FROM flowd_executions e JOIN unnest($1::text[], $2::int[]) AS held(id, epoch) ON held.id = e.id
             WHERE e.lease_epoch = held.epoch AND e.status = 'running' ORDER BY e.id FOR NO KEY UPDATE OF e) AS locked
       WHERE e.id = locked.id`,
      [leases.map((lease) => lease.executionId), leases.map((lease) => lease.epoch)],
    );
  }

  async cancel(executionId: string, rows: readonly JournalRow[], summary: FinishedSummary): Promise<CancelOutcome> {
    return inTransaction(this.pool, async (client): Promise<CancelOutcome> => {
      const found = await client.query<{ status: string }>(`SELECT status FROM flowd_executions WHERE id = $1 FOR UPDATE`, [executionId]);
      const status = found.rows[0]?.status;
      if (status === undefined) return 'not_found';
      if ((TERMINAL as readonly string[]).includes(status)) return 'terminal';
      if (status === 'queued') {
        await client.query(`UPDATE flowd_executions SET status = $2, error_code = $3, recovered = $4, finished_at = ${NOW} WHERE id = $1`, [
          executionId,
          summary.status,
          summary.errorCode ?? null,
          summary.recovered ?? null,
        ]);
        await insertRows(client, executionId, rows);
        return 'cancelled';
      }
      // A waiting execution is woken too, so a worker resumes it and ends it.
      await client.query(
        `UPDATE flowd_executions SET cancel_requested = true, wake_at = CASE WHEN status = 'waiting' THEN ${NOW} ELSE wake_at END WHERE id = $1`,
        [executionId],
      );
      return 'requested';
    });
  }

  async countQueued(tenant?: string): Promise<number> {
    const { rows } = tenant === undefined
      ? await this.pool.query<{ n: string }>(`SELECT count(*) AS n FROM flowd_executions WHERE status = 'queued'`)
      : await this.pool.query<{ n: string }>(`SELECT count(*) AS n FROM flowd_executions WHERE status = 'queued' AND tenant = $1`, [tenant]);
    return Number(rows[0]!.n);
  }

  async countWaitingOf(tenant: string): Promise<number> {
    const { rows } = await this.pool.query<{ n: string }>(`SELECT count(*) AS n FROM flowd_executions WHERE status = 'waiting' AND tenant = $1`, [tenant]);
    return Number(rows[0]!.n);
  }

  async findIdempotencyKey(key: string): Promise<{ executionId: string; fingerprint: string } | undefined> {
    const { rows } = await this.pool.query<{ execution_id: string; fingerprint: string }>(
      `SELECT execution_id, fingerprint FROM flowd_idempotency_keys WHERE key = $1 AND expires_at > ${NOW}`,
      [key],
    );
    const taken = rows[0];
    return taken === undefined ? undefined : { executionId: taken.execution_id, fingerprint: taken.fingerprint };
  }

  async findSucceeded(query: SucceededQuery): Promise<{ executionId: string; finished: JournalRow } | undefined> {
    const byKey = query.correlationKey === undefined ? '' : 'AND correlation_key = $4';
    const { rows } = await this.pool.query<Row & { id: string }>(
      `SELECT e.id, j.seq, j.type, j.data, j.state FROM (
         SELECT id FROM flowd_executions
         WHERE flow = $1 AND tenant = $2 AND status = 'succeeded' ${byKey} AND finished_at >= ${NOW} - $3::bigint
         ORDER BY finished_at DESC, id DESC LIMIT 1
       ) e CROSS JOIN LATERAL (
         SELECT seq, type, data, state FROM flowd_journal WHERE execution_id = e.id AND type = 'execution_finished' ORDER BY seq DESC LIMIT 1
       ) j`,
      [query.flow, query.tenant, query.withinMs, ...(query.correlationKey === undefined ? [] : [query.correlationKey])],
    );
    const found = rows[0];
    const finished = found === undefined ? undefined : lastOfType(found, 'execution_finished');
    return finished === undefined ? undefined : { executionId: found!.id, finished };
  }

  async purge(olderThanMs: number, batchSize: number): Promise<number> {
    const { rows } = await this.pool.query<{ removed: string }>(PURGE_STATEMENT, [olderThanMs, batchSize]);
    return Number(rows[0]!.removed);
  }

  async pendingElsewhere(flows: readonly FlowKey[]): Promise<PendingDefinition[]> {
    const { rows } = await this.pool.query<{ flow: string; flow_hash: string; n: string }>(
      `SELECT flow, flow_hash, count(*) AS n FROM flowd_executions e
       WHERE ${CLAIMABLE} AND NOT EXISTS (SELECT 1 FROM unnest($1::text[], $2::text[]) AS d(flow, hash) WHERE d.flow = e.flow AND d.hash = e.flow_hash)
       GROUP BY flow, flow_hash LIMIT 50`,
      [flows.map((flow) => flow.name), flows.map((flow) => flow.hash)],
    );
    return rows.map((row) => ({ flow: row.flow, flowHash: row.flow_hash, count: Number(row.n) }));
  }

  /** Sends the writes still queued, then closes the pool. */
  async close(): Promise<void> {
    if (this.pool.ending) return;
    await this.#writes.drain();
    await this.pool.end();
  }
}

async function insertRows(client: pg.ClientBase, executionId: string, rows: readonly JournalRow[]): Promise<void> {
  if (rows.length === 0) return;
  const packs = packRows(rows);
  await client.query(
    `INSERT INTO flowd_journal (execution_id, seq, type, data, state)
     SELECT $1, t.seq, t.type, t.data, t.state FROM unnest($2::integer[], $3::text[], $4::text[], $5::text[]) AS t(seq, type, data, state)
     WHERE NOT EXISTS (SELECT 1 FROM flowd_journal j WHERE j.execution_id = $1 AND j.seq >= t.seq)
     ON CONFLICT DO NOTHING`,
    [executionId, packs.map((row) => row.seq), packs.map((row) => row.type), packs.map((row) => row.data), packs.map((row) => row.state)],
  );
}
