import type pg from 'pg';
import type { ExecutionStatus } from '../../engine/record.js';
import { TERMINAL, lostLease, type Lease } from '../execution-store.js';
import { NOW } from '../postgres-batch.js';
import { inTransaction } from '../postgres-transaction.js';
import type { CallbackOutcome, CallbackRegistration, FoundCallback, NewSignal, SignalOutcome, SignalStore, TakenSignal } from './signal-store.js';

const TERMINAL_SET: ReadonlySet<string> = new Set(TERMINAL);

type SignalRow = { id: string; name: string; payload: string; received_at: string };

/**
 * The signal store of the PostgreSQL execution store. Each write is one transaction that first
 * locks the execution's summary row (FOR NO KEY UPDATE, the mode the write batches, heartbeats and
 * suspensions take), so a delivery and a suspension of the same execution are serialised: the
 * one that comes second sees what the first committed (see ExecutionStore.suspend).
 */
export class PostgresSignals implements SignalStore {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  deliver(signal: NewSignal): Promise<SignalOutcome> {
    return inTransaction(this.#pool, async (client) => deliverLocked(client, signal, await lockedStatus(client, signal.executionId)));
  }

  take(lease: Lease, name: string, waitKey: string): Promise<TakenSignal | undefined> {
    return inTransaction(this.#pool, async (client): Promise<TakenSignal | undefined> => {
      await held(client, lease, 'taking a signal');
      const columns = `SELECT id, name, payload, received_at FROM flowd_signals WHERE execution_id = $1 AND name = $2`;
      const mine = await client.query<SignalRow>(`${columns} AND taken_by = $3 ORDER BY id LIMIT 1`, [lease.executionId, name, waitKey]);
      if (mine.rows[0] !== undefined) return toTaken(mine.rows[0]);
      const oldest = await client.query<SignalRow>(`${columns} AND taken_by IS NULL ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED`, [lease.executionId, name]);
      const signal = oldest.rows[0];
      if (signal === undefined) return undefined;
      await client.query(`UPDATE flowd_signals SET taken_by = $2 WHERE id = $1`, [signal.id, waitKey]);
      return toTaken(signal);
    });
  }

  async registerCallback(lease: Lease, registration: CallbackRegistration): Promise<void> {
    await inTransaction(this.#pool, async (client) => {
      await held(client, lease, 'registering a callback');
      await client.query(`DELETE FROM flowd_callbacks WHERE (execution_id = $1 AND wait_key = $2) OR token_hash = $3`, [
        registration.executionId,
        registration.waitKey,
        registration.tokenHash,
      ]);
      await client.query(`INSERT INTO flowd_callbacks (token_hash, execution_id, wait_key, signal, expires_at) VALUES ($1, $2, $3, $4, $5)`, [
        registration.tokenHash,
        registration.executionId,
        registration.waitKey,
        registration.signal,
        registration.expiresAt,
      ]);
    });
  }

  async findCallback(tokenHash: string): Promise<FoundCallback | undefined> {
    const found = await this.#pool.query<{ execution_id: string; wait_key: string; state: FoundCallback['state'] }>(
      `SELECT execution_id, wait_key, CASE WHEN used_at IS NOT NULL THEN 'used' WHEN expires_at <= ${NOW} THEN 'expired' ELSE 'usable' END AS state
       FROM flowd_callbacks WHERE token_hash = $1`,
      [tokenHash],
    );
    const row = found.rows[0];
    return row === undefined ? undefined : { executionId: row.execution_id, waitKey: row.wait_key, state: row.state };
  }

  useCallback(tokenHash: string, payload: string): Promise<CallbackOutcome> {
    return inTransaction(this.#pool, async (client): Promise<CallbackOutcome> => {
      const owner = await client.query<{ execution_id: string }>(`SELECT execution_id FROM flowd_callbacks WHERE token_hash = $1`, [tokenHash]);
      if (owner.rows[0] === undefined) return { kind: 'not_found' };
      // The execution's row first, then the token's (the order registerCallback locks them in):
      // a use racing a registration waits, never deadlocks.
      const executionId = owner.rows[0].execution_id;
      const status = await lockedStatus(client, executionId);
      const found = await client.query<{ execution_id: string; signal: string; used: boolean; expired: boolean }>(
        `SELECT execution_id, signal, used_at IS NOT NULL AS used, expires_at <= ${NOW} AS expired FROM flowd_callbacks WHERE token_hash = $1 FOR UPDATE`,
        [tokenHash],
      );
      const callback = found.rows[0];
      if (callback === undefined || callback.execution_id !== executionId) return { kind: 'not_found' };
      if (callback.used) return { kind: 'used', executionId };
      if (callback.expired) return { kind: 'expired', executionId };
      const delivered = await deliverLocked(client, { executionId, name: callback.signal, payload }, status);
      if (delivered.kind === 'not_found') return { kind: 'not_found' };
      if (delivered.kind === 'ended') return { kind: 'ended', executionId };
      await client.query(`UPDATE flowd_callbacks SET used_at = ${NOW} WHERE token_hash = $1`, [tokenHash]);
      return { kind: 'delivered', executionId };
    });
  }
}

/** The execution's status, its row locked until the transaction ends; undefined when there is none. */
async function lockedStatus(client: pg.ClientBase, executionId: string): Promise<ExecutionStatus | undefined> {
  const { rows } = await client.query<{ status: ExecutionStatus }>(`SELECT status FROM flowd_executions WHERE id = $1 FOR NO KEY UPDATE`, [executionId]);
  return rows[0]?.status;
}

/** Stores `signal` for an execution whose row this transaction locked (with `status`), and wakes it when waiting. */
async function deliverLocked(client: pg.ClientBase, signal: NewSignal, status: ExecutionStatus | undefined): Promise<SignalOutcome> {
  if (status === undefined) return { kind: 'not_found' };
  if (TERMINAL_SET.has(status)) {
    // A retried delivery that was counted before the execution ended is still a duplicate, not too late.
    const same = signal.idempotencyKey === undefined ? undefined : await keyedSignal(client, signal);
    return same === undefined ? { kind: 'ended', status } : { kind: 'duplicate', signalId: same, status };
  }
  if (signal.maxPending !== undefined) {
    // Deliveries to one execution are serialised by its row lock: the count cannot be overtaken.
    const { rows } = await client.query<{ n: string; same: string | null }>(
      `SELECT count(*) FILTER (WHERE taken_by IS NULL AND name = $2) AS n, max(id) FILTER (WHERE name = $2 AND idempotency_key = $3) AS same FROM flowd_signals WHERE execution_id = $1`,
      [signal.executionId, signal.name, signal.idempotencyKey ?? null],
    );
    if (rows[0]!.same !== null) return { kind: 'duplicate', signalId: rows[0]!.same, status };
    if (Number(rows[0]!.n) >= signal.maxPending) return { kind: 'full', pending: Number(rows[0]!.n) };
  }
  // A NULL key never conflicts: only keyed deliveries can be duplicates. Deliveries to one
  // execution are serialised by its row lock, so a duplicate's original is committed and visible.
  const inserted = await client.query<{ id: string }>(
    `INSERT INTO flowd_signals (execution_id, name, payload, idempotency_key, received_at) VALUES ($1, $2, $3, $4, ${NOW})
     ON CONFLICT (execution_id, name, idempotency_key) DO NOTHING RETURNING id`,
    [signal.executionId, signal.name, signal.payload, signal.idempotencyKey ?? null],
  );
  if (inserted.rows[0] === undefined) return { kind: 'duplicate', signalId: (await keyedSignal(client, signal))!, status };
  // A new statement: it sees a suspension that committed while this transaction waited for the lock.
  // Only the signal its wait takes wakes a waiting execution; one for a later wait is kept for it.
  await client.query(`UPDATE flowd_executions SET wake_at = ${NOW} WHERE id = $1 AND status = 'waiting' AND waiting_signal = $2`, [signal.executionId, signal.name]);
  return { kind: 'delivered', signalId: inserted.rows[0].id, status };
}

/** The id of the signal of that name already delivered to the execution with the same idempotency key. */
async function keyedSignal(client: pg.ClientBase, signal: NewSignal): Promise<string | undefined> {
  const { rows } = await client.query<{ id: string }>(`SELECT id FROM flowd_signals WHERE execution_id = $1 AND name = $2 AND idempotency_key = $3`, [
    signal.executionId,
    signal.name,
    signal.idempotencyKey,
  ]);
  return rows[0]?.id;
}

/** Locks the execution's row when `lease` still holds it (LeaseLostError otherwise). */
async function held(client: pg.ClientBase, lease: Lease, write: string): Promise<void> {
  const { rows } = await client.query(`SELECT 1 FROM flowd_executions WHERE id = $1 AND lease_epoch = $2 AND status = 'running' FOR NO KEY UPDATE`, [
    lease.executionId,
    lease.epoch,
  ]);
  if (rows.length === 0) throw lostLease(write, lease);
}

function toTaken(row: SignalRow): TakenSignal {
  return { signalId: row.id, name: row.name, payload: row.payload, receivedAt: Number(row.received_at) };
}
