import pg from 'pg';
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

/** The database clock in ms: every lease and window is computed by PostgreSQL, never by a replica. */
const NOW = `(extract(epoch FROM clock_timestamp()) * 1000)::bigint`;
const TERMINAL_LIST = TERMINAL.map((status) => `'${status}'`).join(', ');
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export interface PostgresStoreOptions {
  readonly connectionString: string;
  /** Schema holding flowd's tables (created if missing). Default `public`. */
  readonly schema?: string;
  readonly poolMax?: number;
  /** Called when an idle pooled connection fails (logged by the service). */
  readonly onPoolError?: (error: Error) => void;
}

/**
 * PostgreSQL store for one or many replicas. Async work is claimed in batches with
 * `FOR UPDATE SKIP LOCKED`; every write of a leased execution is fenced by its epoch inside the
 * same statement (the UPDATE re-checks the epoch on the newest row version under READ COMMITTED),
 * so a worker that was taken over cannot overwrite its successor.
 */
export class PostgresExecutionStore implements ExecutionStore {
  readonly kind = 'postgres' as const;
  readonly durable = true;
  readonly pool: pg.Pool;
  readonly schema: string;

  private constructor(pool: pg.Pool, schema: string) {
    this.pool = pool;
    this.schema = schema;
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
    const store = new PostgresExecutionStore(pool, schema);
    try {
      await store.migrate();
    } catch (error) {
      await pool.end();
      throw error;
    }
    return store;
  }

  /**
   * Applies pending migrations in one transaction holding a transaction-scoped advisory lock, so
   * replicas starting together apply each migration exactly once. Returns how many were applied.
   */
  async migrate(): Promise<number> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`flowd:migrations:${this.schema}`]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS "${this.schema}"`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS flowd_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)`,
      );
      const applied = new Set((await client.query<{ version: number }>(`SELECT version FROM flowd_migrations`)).rows.map((row) => row.version));
      let count = 0;
      for (const migration of MIGRATIONS) {
        if (applied.has(migration.version)) continue;
        for (const statement of migration.postgres) await client.query(statement);
        await client.query(`INSERT INTO flowd_migrations (version, name, applied_at) VALUES ($1, $2, ${NOW})`, [migration.version, migration.name]);
        count += 1;
      }
      await client.query('COMMIT');
      return count;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async appliedMigrations(): Promise<number[]> {
    return (await this.pool.query<{ version: number }>(`SELECT version FROM flowd_migrations ORDER BY version`)).rows.map((row) => row.version);
  }

  async save(record: ExecutionRecord, meta: { flowHash?: string | undefined } = {}): Promise<void> {
    const terminal = (TERMINAL as readonly string[]).includes(record.status);
    await this.pool.query(
      `INSERT INTO flowd_executions (id, flow, flow_version, flow_hash, status, resumable, input, record, parent_id, correlation_key, created_at, finished_at)
       VALUES ($1, $2, $3, $4, $5, false, $6, $7, $8, $9, ${NOW}, CASE WHEN $10 THEN ${NOW} END)
       ON CONFLICT (id) DO UPDATE SET status = excluded.status, record = excluded.record, finished_at = excluded.finished_at,
         correlation_key = excluded.correlation_key
       WHERE NOT flowd_executions.resumable`,
      [
        record.executionId,
        record.flow,
        record.version,
        meta.flowHash ?? '',
        record.status,
        encodeValue(record.input),
        JSON.stringify(record),
        record.parentId ?? null,
        record.correlationKey ?? null,
        terminal,
      ],
    );
  }

  async get(executionId: string): Promise<ExecutionRecord | undefined> {
    const { rows } = await this.pool.query<{ status: ExecutionStatus; record: string }>(`SELECT status, record FROM flowd_executions WHERE id = $1`, [
      executionId,
    ]);
    return rows[0] === undefined ? undefined : toRecord(rows[0]);
  }

  async list(query: ExecutionQuery): Promise<ExecutionPage> {
    const { rows } = await this.pool.query<{ status: ExecutionStatus; record: string }>(
      `SELECT status, record FROM flowd_executions
       WHERE ($1::text IS NULL OR flow = $1) AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR id < $3)
       ORDER BY id DESC LIMIT $4`,
      [query.flow ?? null, query.status ?? null, query.cursor ?? null, query.limit + 1],
    );
    const items = rows.slice(0, query.limit).map(toRecord);
    return rows.length > query.limit ? { items, nextCursor: items[items.length - 1]!.executionId } : { items };
  }

  async appendLogs(executionId: string, entries: readonly ExecutionLogEntry[]): Promise<void> {
    if (entries.length === 0) return;
    // One statement: keeps at most MAX_LOG_ENTRIES_PER_EXECUTION lines, drops lines of unknown executions.
    await this.pool.query(
      `INSERT INTO flowd_execution_logs (execution_id, entry)
       SELECT $1, entry FROM unnest($2::text[]) WITH ORDINALITY AS t(entry, n)
       WHERE EXISTS (SELECT 1 FROM flowd_executions WHERE id = $1)
         AND n + (SELECT count(*) FROM flowd_execution_logs WHERE execution_id = $1) <= $3
       ORDER BY n`,
      [executionId, entries.map((entry) => JSON.stringify(entry)), MAX_LOG_ENTRIES_PER_EXECUTION],
    ).catch((error: unknown) => {
      // The execution was purged between the check and the insert: its lines have nowhere to go.
      if ((error as { code?: string }).code !== '23503') throw error;
    });
  }

  async getLogs(executionId: string): Promise<ExecutionLogEntry[] | undefined> {
    const exists = await this.pool.query(`SELECT 1 FROM flowd_executions WHERE id = $1`, [executionId]);
    if (exists.rowCount === 0) return undefined;
    const { rows } = await this.pool.query<{ entry: string }>(`SELECT entry FROM flowd_execution_logs WHERE execution_id = $1 ORDER BY id`, [executionId]);
    return rows.map((row) => JSON.parse(row.entry) as ExecutionLogEntry);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  async now(): Promise<number> {
    const { rows } = await this.pool.query<{ now: string }>(`SELECT ${NOW} AS now`);
    return Number(rows[0]!.now);
  }

  async create(execution: NewExecution): Promise<CreateResult> {
    const running = execution.status === 'running';
    const insertExecution = {
      text: `INSERT INTO flowd_executions (id, flow, flow_version, flow_hash, status, resumable, input, options, record, parent_id, correlation_key,
               idempotency_key, created_at, lease_owner, lease_epoch, lease_expires_at, attempts)
             VALUES ($1, $2, $3, $4, $5, true, $6, $7, $8, $9, $10, $11, ${NOW}, $12, $13, CASE WHEN $14 THEN ${NOW} + $15::bigint END, $13)`,
      values: [
        execution.executionId,
        execution.flow,
        execution.version,
        execution.flowHash,
        execution.status,
        encodeValue(execution.input),
        JSON.stringify(execution.options),
        JSON.stringify(execution.record),
        execution.parentId ?? null,
        execution.options.correlationKey ?? null,
        execution.idempotency?.key ?? null,
        running ? execution.owner! : null,
        running ? 1 : 0,
        running,
        execution.leaseMs,
      ],
    };
    const lease = running ? { executionId: execution.executionId, owner: execution.owner!, epoch: 1 } : undefined;
    const key = execution.idempotency;
    if (key === undefined) {
      await this.pool.query(insertExecution);
      return { created: true, lease };
    }
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`DELETE FROM flowd_idempotency_keys WHERE key = $1 AND expires_at <= ${NOW}`, [key.key]);
      // The primary key decides: of concurrent identical requests exactly one inserts; the others
      // wait for its commit and then insert nothing.
      const inserted = await client.query(
        `INSERT INTO flowd_idempotency_keys (key, fingerprint, execution_id, created_at, expires_at)
         VALUES ($1, $2, $3, ${NOW}, ${NOW} + $4::bigint) ON CONFLICT (key) DO NOTHING RETURNING key`,
        [key.key, key.fingerprint, execution.executionId, key.ttlMs],
      );
      if (inserted.rowCount === 0) {
        await client.query('ROLLBACK');
        const { rows } = await client.query<{ execution_id: string; fingerprint: string }>(
          `SELECT execution_id, fingerprint FROM flowd_idempotency_keys WHERE key = $1`,
          [key.key],
        );
        const taken = rows[0];
        // Deleted in between (expired and purged): try once more from the start.
        if (taken === undefined) return await this.create(execution);
        return { created: false, executionId: taken.execution_id, fingerprint: taken.fingerprint };
      }
      await client.query(insertExecution);
      await client.query('COMMIT');
      return { created: true, lease };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async claim(request: ClaimRequest): Promise<ClaimedExecution[]> {
    if (request.flows.length === 0 || request.limit <= 0) return [];
    const keys = request.flows.map((flow) => flowKeyString(flow.name, flow.hash));
    // One statement claims a batch: rows another replica is claiming (locked) are skipped, not waited for.
    const { rows } = await this.pool.query(
      `WITH picked AS (
         SELECT id FROM flowd_executions
         WHERE resumable AND (flow || '@' || flow_hash) = ANY($1::text[])
           AND (status = 'queued' OR (status = 'running' AND lease_expires_at < ${NOW}))
         ORDER BY id
         LIMIT $2
         FOR UPDATE SKIP LOCKED
       )
       UPDATE flowd_executions e
       SET status = 'running', lease_owner = $3, lease_epoch = e.lease_epoch + 1, lease_expires_at = ${NOW} + $4::bigint, attempts = e.attempts + 1
       FROM picked WHERE e.id = picked.id
       RETURNING e.id, e.flow, e.flow_hash, e.status, e.input, e.options, e.record, e.parent_id, e.lease_epoch, e.attempts, e.cancel_requested`,
      [keys, request.limit, request.owner, request.leaseMs],
    );
    if (rows.length === 0) return [];
    const ids = rows.map((row: { id: string }) => row.id);
    const saved = await this.pool.query<{ execution_id: string; key: string; output: string | null; request: string | null }>(
      `SELECT execution_id, key, output, request FROM flowd_checkpoints WHERE execution_id = ANY($1::text[])`,
      [ids],
    );
    const byExecution = new Map<string, { key: string; output: string | null; request: string | null }[]>();
    for (const row of saved.rows) {
      const list = byExecution.get(row.execution_id) ?? [];
      list.push(row);
      byExecution.set(row.execution_id, list);
    }
    return rows
      .sort((a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : 1))
      .map((row: ClaimedRow) => claimedFrom(row, request.owner, byExecution.get(row.id) ?? []));
  }

  async heartbeat(owner: string, leases: readonly Lease[], leaseMs: number): Promise<HeartbeatResult> {
    if (leases.length === 0) return { lost: [], cancelRequested: [] };
    const { rows } = await this.pool.query<{ id: string; cancel_requested: boolean }>(
      `UPDATE flowd_executions e SET lease_expires_at = ${NOW} + $4::bigint
       FROM unnest($1::text[], $2::int[]) AS held(id, epoch)
       WHERE e.id = held.id AND e.lease_epoch = held.epoch AND e.lease_owner = $3 AND e.status = 'running'
       RETURNING e.id, e.cancel_requested`,
      [leases.map((lease) => lease.executionId), leases.map((lease) => lease.epoch), owner, leaseMs],
    );
    const renewed = new Set(rows.map((row) => row.id));
    return {
      lost: leases.filter((lease) => !renewed.has(lease.executionId)).map((lease) => lease.executionId),
      cancelRequested: rows.filter((row) => row.cancel_requested).map((row) => row.id),
    };
  }

  async checkpoint(lease: Lease, key: string, output: unknown, request: unknown, _leaseMs: number): Promise<void> {
    // FOR SHARE locks the execution row without rewriting it, and (READ COMMITTED) re-checks the
    // epoch on the newest row version if a claim updated it meanwhile: a taken-over worker's
    // checkpoint matches nothing and inserts nothing. A claim waiting on the lock sees this
    // checkpoint once it commits.
    const result = await this.pool.query(
      `WITH fence AS (
         SELECT id FROM flowd_executions WHERE id = $1 AND lease_epoch = $2 AND status = 'running' FOR SHARE
       )
       INSERT INTO flowd_checkpoints (execution_id, key, output, request, epoch, created_at)
       SELECT id, $3, $4, $5, $2, ${NOW} FROM fence
       ON CONFLICT (execution_id, key) DO UPDATE SET output = excluded.output, request = excluded.request, epoch = excluded.epoch,
         created_at = excluded.created_at
       RETURNING 1`,
      [lease.executionId, lease.epoch, key, encodeValue(output), request === undefined ? null : encodeValue(request)],
    );
    if (result.rowCount === 0) throw new LeaseLostError(`checkpoint "${key}" refused: execution ${lease.executionId} is no longer held at epoch ${lease.epoch}`);
  }

  async finish(lease: Lease, record: ExecutionRecord): Promise<void> {
    const result = await this.pool.query(
      `UPDATE flowd_executions SET status = $3, record = $4, correlation_key = $5, finished_at = ${NOW}, lease_owner = NULL, lease_expires_at = NULL
       WHERE id = $1 AND lease_epoch = $2 AND status = 'running'`,
      [lease.executionId, lease.epoch, record.status, JSON.stringify(record), record.correlationKey ?? null],
    );
    if (result.rowCount === 0) throw new LeaseLostError(`final write refused: execution ${lease.executionId} is no longer held at epoch ${lease.epoch}`);
  }

  async release(leases: readonly Lease[]): Promise<void> {
    if (leases.length === 0) return;
    await this.pool.query(
      `UPDATE flowd_executions e SET lease_expires_at = 0
       FROM unnest($1::text[], $2::int[]) AS held(id, epoch)
       WHERE e.id = held.id AND e.lease_epoch = held.epoch AND e.status = 'running'`,
      [leases.map((lease) => lease.executionId), leases.map((lease) => lease.epoch)],
    );
  }

  async cancel(executionId: string, update: (current: ExecutionRecord) => ExecutionRecord): Promise<CancelOutcome> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ status: ExecutionStatus; record: string }>(
        `SELECT status, record FROM flowd_executions WHERE id = $1 FOR UPDATE`,
        [executionId],
      );
      const row = rows[0];
      let outcome: CancelOutcome;
      if (row === undefined) outcome = 'not_found';
      else if ((TERMINAL as readonly string[]).includes(row.status)) outcome = 'terminal';
      else if (row.status === 'queued') {
        const record = update(toRecord(row));
        await client.query(`UPDATE flowd_executions SET status = $2, record = $3, finished_at = ${NOW} WHERE id = $1`, [
          executionId,
          record.status,
          JSON.stringify(record),
        ]);
        outcome = 'cancelled';
      } else {
        await client.query(`UPDATE flowd_executions SET cancel_requested = true WHERE id = $1`, [executionId]);
        outcome = 'requested';
      }
      await client.query('COMMIT');
      return outcome;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async findSucceeded(flow: string, correlationKey: string | undefined, withinMs: number): Promise<ExecutionRecord | undefined> {
    const { rows } = await this.pool.query<{ status: ExecutionStatus; record: string }>(
      `SELECT status, record FROM flowd_executions
       WHERE flow = $1 AND status = 'succeeded' AND ($2::text IS NULL OR correlation_key = $2) AND finished_at >= ${NOW} - $3::bigint
       ORDER BY finished_at DESC, id DESC LIMIT 1`,
      [flow, correlationKey ?? null, withinMs],
    );
    return rows[0] === undefined ? undefined : toRecord(rows[0]);
  }

  async purge(olderThanMs: number, batchSize: number): Promise<number> {
    // SKIP LOCKED: replicas purging at the same moment take different rows instead of waiting.
    const executions = await this.pool.query<{ id: string }>(
      `DELETE FROM flowd_executions WHERE id IN (
         SELECT id FROM flowd_executions
         WHERE finished_at < ${NOW} - $1::bigint AND status IN (${TERMINAL_LIST})
         ORDER BY finished_at LIMIT $2 FOR UPDATE SKIP LOCKED)
       RETURNING id`,
      [olderThanMs, batchSize],
    );
    let removed = executions.rowCount ?? 0;
    if (executions.rows.length > 0) {
      await this.pool.query(`DELETE FROM flowd_idempotency_keys WHERE execution_id = ANY($1::text[])`, [executions.rows.map((row) => row.id)]);
    }
    const keys = await this.pool.query(
      `DELETE FROM flowd_idempotency_keys WHERE key IN (
         SELECT key FROM flowd_idempotency_keys WHERE expires_at <= ${NOW} LIMIT $1 FOR UPDATE SKIP LOCKED)`,
      [batchSize],
    );
    removed += keys.rowCount ?? 0;
    return removed;
  }

  async pendingElsewhere(flows: readonly FlowKey[]): Promise<PendingDefinition[]> {
    const { rows } = await this.pool.query<{ flow: string; flow_hash: string; n: string }>(
      `SELECT flow, flow_hash, count(*) AS n FROM flowd_executions
       WHERE resumable AND (status = 'queued' OR (status = 'running' AND lease_expires_at < ${NOW}))
         AND NOT ((flow || '@' || flow_hash) = ANY($1::text[]))
       GROUP BY flow, flow_hash LIMIT 50`,
      [flows.map((flow) => flowKeyString(flow.name, flow.hash))],
    );
    return rows.map((row) => ({ flow: row.flow, flowHash: row.flow_hash, count: Number(row.n) }));
  }

  async getCheckpoints(executionId: string): Promise<StoredPhaseOutputs | undefined> {
    const { rows } = await this.pool.query<{ key: string; output: string | null; request: string | null }>(
      `SELECT key, output, request FROM flowd_checkpoints WHERE execution_id = $1`,
      [executionId],
    );
    return rows.length === 0 ? undefined : phaseOutputs(rows);
  }
}
