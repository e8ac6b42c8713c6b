import type Database from 'better-sqlite3';
import type { ExecutionStatus } from '../../engine/record.js';
import { TERMINAL, lostLease, type Lease } from '../execution-store.js';
import { NOW, type SqliteGroupCommit } from '../sqlite-group-commit.js';
import type { CallbackOutcome, CallbackRegistration, FoundCallback, NewSignal, SignalOutcome, SignalStore, TakenSignal } from './signal-store.js';

const TERMINAL_SET: ReadonlySet<string> = new Set(TERMINAL);

type SignalRow = { id: number; name: string; payload: string; received_at: number };

/**
 * The signal store of the SQLite execution store. Every write goes through the store's group
 * commit: one IMMEDIATE transaction, so a delivery and a suspension of the same execution are
 * serialised (the database has one writer) and a signal racing a suspension is never left unseen.
 */
export class SqliteSignals implements SignalStore {
  readonly #db: Database.Database;
  readonly #writes: SqliteGroupCommit;
  readonly #statements = new Map<string, Database.Statement>();

  constructor(db: Database.Database, writes: SqliteGroupCommit) {
    this.#db = db;
    this.#writes = writes;
  }

  #sql(source: string): Database.Statement {
    let statement = this.#statements.get(source);
    if (statement === undefined) {
      statement = this.#db.prepare(source);
      this.#statements.set(source, statement);
    }
    return statement;
  }

  deliver(signal: NewSignal): Promise<SignalOutcome> {
    return this.#writes.write(() => this.#deliver(signal));
  }

  #deliver(signal: NewSignal): SignalOutcome {
    const execution = this.#sql(`SELECT status FROM flowd_executions WHERE id = ?`).get(signal.executionId) as { status: ExecutionStatus } | undefined;
    if (execution === undefined) return { kind: 'not_found' };
    const { status } = execution;
    // A retried delivery counted before the execution ended is a duplicate, not too late.
    const same = this.#keyed(signal);
    if (same !== undefined) return { kind: 'duplicate', signalId: same, status };
    if (TERMINAL_SET.has(status)) return { kind: 'ended', status };
    if (signal.maxPending !== undefined) {
      const { n } = this.#sql(`SELECT count(*) AS n FROM flowd_signals WHERE execution_id = ? AND name = ? AND taken_by IS NULL`).get(signal.executionId, signal.name) as { n: number };
      if (n >= signal.maxPending) return { kind: 'full', pending: n };
    }
    // A NULL key never conflicts: only keyed deliveries can be duplicates.
    const inserted = this.#sql(
      `INSERT INTO flowd_signals (execution_id, name, payload, idempotency_key, received_at) VALUES (?, ?, ?, ?, ${NOW})
       ON CONFLICT (execution_id, name, idempotency_key) DO NOTHING RETURNING id`,
    ).get(signal.executionId, signal.name, signal.payload, signal.idempotencyKey ?? null) as { id: number } | undefined;
    if (inserted === undefined) return { kind: 'duplicate', signalId: this.#keyed(signal)!, status };
    // Only the signal its wait takes wakes a waiting execution; one for a later wait is kept for it.
    this.#sql(`UPDATE flowd_executions SET wake_at = ${NOW} WHERE id = ? AND status = 'waiting' AND waiting_signal = ?`).run(signal.executionId, signal.name);
    return { kind: 'delivered', signalId: String(inserted.id), status };
  }

  /** The id of the signal of that name already delivered to the execution with the same idempotency key. */
  #keyed(signal: NewSignal): string | undefined {
    if (signal.idempotencyKey === undefined) return undefined;
    const same = this.#sql(`SELECT id FROM flowd_signals WHERE execution_id = ? AND name = ? AND idempotency_key = ?`).get(signal.executionId, signal.name, signal.idempotencyKey) as
      | { id: number }
      | undefined;
    return same === undefined ? undefined : String(same.id);
  }

  take(lease: Lease, name: string, waitKey: string): Promise<TakenSignal | undefined> {
    return this.#writes.write((): TakenSignal | undefined => {
      this.#held(lease, 'taking a signal');
      const columns = `SELECT id, name, payload, received_at FROM flowd_signals WHERE execution_id = ? AND name = ?`;
      const mine = this.#sql(`${columns} AND taken_by = ? ORDER BY id LIMIT 1`).get(lease.executionId, name, waitKey) as SignalRow | undefined;
      if (mine !== undefined) return toTaken(mine);
      const oldest = this.#sql(`${columns} AND taken_by IS NULL ORDER BY id LIMIT 1`).get(lease.executionId, name) as SignalRow | undefined;
      if (oldest === undefined) return undefined;
      this.#sql(`UPDATE flowd_signals SET taken_by = ? WHERE id = ?`).run(waitKey, oldest.id);
      return toTaken(oldest);
    });
  }

  async registerCallback(lease: Lease, registration: CallbackRegistration): Promise<void> {
    await this.#writes.write(() => {
      this.#held(lease, 'registering a callback');
      this.#sql(`DELETE FROM flowd_callbacks WHERE (execution_id = ? AND wait_key = ?) OR token_hash = ?`)
        .run(registration.executionId, registration.waitKey, registration.tokenHash);
      this.#sql(`INSERT INTO flowd_callbacks (token_hash, execution_id, wait_key, signal, expires_at) VALUES (?, ?, ?, ?, ?)`)
        .run(registration.tokenHash, registration.executionId, registration.waitKey, registration.signal, registration.expiresAt);
    });
  }

  async findCallback(tokenHash: string): Promise<FoundCallback | undefined> {
    const found = this.#sql(
      `SELECT execution_id, wait_key, CASE WHEN used_at IS NOT NULL THEN 'used' WHEN expires_at <= ${NOW} THEN 'expired' ELSE 'usable' END AS state
       FROM flowd_callbacks WHERE token_hash = ?`,
    ).get(tokenHash) as { execution_id: string; wait_key: string; state: FoundCallback['state'] } | undefined;
    return found === undefined ? undefined : { executionId: found.execution_id, waitKey: found.wait_key, state: found.state };
  }

  useCallback(tokenHash: string, payload: string): Promise<CallbackOutcome> {
    return this.#writes.write((): CallbackOutcome => {
      const found = this.#sql(
        `SELECT execution_id, signal, used_at IS NOT NULL AS used, expires_at <= ${NOW} AS expired FROM flowd_callbacks WHERE token_hash = ?`,
      ).get(tokenHash) as { execution_id: string; signal: string; used: number; expired: number } | undefined;
      if (found === undefined) return { kind: 'not_found' };
      const executionId = found.execution_id;
      if (found.used === 1) return { kind: 'used', executionId };
      if (found.expired === 1) return { kind: 'expired', executionId };
      const delivered = this.#deliver({ executionId, name: found.signal, payload });
      if (delivered.kind === 'not_found') return { kind: 'not_found' };
      if (delivered.kind === 'ended') return { kind: 'ended', executionId };
      this.#sql(`UPDATE flowd_callbacks SET used_at = ${NOW} WHERE token_hash = ?`).run(tokenHash);
      return { kind: 'delivered', executionId };
    });
  }

  #held(lease: Lease, write: string): void {
    const held = this.#sql(`SELECT 1 FROM flowd_executions WHERE id = ? AND lease_epoch = ? AND status = 'running'`).get(lease.executionId, lease.epoch);
    if (held === undefined) throw lostLease(write, lease);
  }
}

function toTaken(row: SignalRow): TakenSignal {
  return { signalId: String(row.id), name: row.name, payload: row.payload, receivedAt: row.received_at };
}
