/** Builders of executions and journal rows for the store tests (the store treats rows as opaque JSON). */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { newExecutionId } from '../../src/engine/ids.js';
import type { ExecutionStore, JournalRow, Lease, NewExecution, SavedExecution } from '../../src/store/execution-store.js';
import { PostgresExecutionStore } from '../../src/store/postgres-store.js';
import { createTestDatabase, waitFor, type Backend, type TestDatabase } from '../durable/helpers.js';

let lastIdMs = Date.now();

/** The backends every store contract suite runs against. */
export const BACKENDS: readonly Backend[] = ['memory', 'sqlite', 'postgres'];

/**
 * A fresh database of `backend` for the enclosing describe: created and its store opened before
 * the tests (handed to `opened`), dropped after them.
 */
export function useTestStore(backend: Backend, opened: (store: ExecutionStore) => void): void {
  let db: TestDatabase | undefined;
  beforeAll(async () => {
    db = await createTestDatabase(backend);
    opened(await db.open());
  });
  afterAll(async () => {
    await db?.drop();
  });
}

/** A name unique to this run, so tests never see each other's executions. */
export function unique(name: string): string {
  return `${name}-${randomBytes(4).toString('hex')}`;
}

/** Execution ids in creation order (UUIDv7 ids minted in the same millisecond do not sort by creation). */
export function nextId(): string {
  lastIdMs += 1;
  return newExecutionId(lastIdMs);
}

export function row(seq: number, type: string, data: Record<string, unknown> = {}, state: Record<string, unknown> | null = null): JournalRow {
  return { seq, type, data: JSON.stringify({ type, at: 1_700_000_000_000 + seq, t: seq, ...data }), state: state === null ? null : JSON.stringify(state) };
}

export function startedRow(executionId: string, input: unknown = { n: 1 }): JournalRow {
  return row(0, 'execution_started', { executionId, flow: 'alpha', version: '1', hash: 'h1', input: '***' }, { input });
}

export function finishedRow(seq: number, status: string, output?: unknown): JournalRow {
  return output === undefined ? row(seq, 'execution_finished', { status }) : row(seq, 'execution_finished', { status, output: 'shown' }, { output });
}

/** What every test execution has unless a test says otherwise. */
const IDENTITY = { flow: 'alpha', version: '1', flowHash: 'h1', tenant: 'local' } as const;

export function newExecution(overrides: Partial<NewExecution> = {}): NewExecution {
  const executionId = overrides.executionId ?? nextId();
  const status = overrides.status ?? 'queued';
  return {
    executionId,
    ...IDENTITY,
    options: {},
    status,
    owner: status === 'running' ? 'owner-a' : undefined,
    leaseMs: 60_000,
    rows: [startedRow(executionId)],
    ...overrides,
  };
}

export function savedExecution(overrides: Partial<SavedExecution> = {}): SavedExecution {
  const executionId = overrides.executionId ?? nextId();
  const status = overrides.summary?.status ?? 'succeeded';
  return {
    executionId,
    ...IDENTITY,
    summary: { status },
    rows: [startedRow(executionId), row(1, 'run_started', { run: 1 }), finishedRow(2, status, status === 'succeeded' ? { ok: true } : undefined)],
    ...overrides,
  };
}

/** Creates a running execution and returns its lease. */
export async function running(store: ExecutionStore, overrides: Partial<NewExecution> = {}): Promise<Lease> {
  const created = await store.create(newExecution({ status: 'running', owner: 'owner-a', ...overrides }));
  if (!created.created || created.lease === undefined) throw new Error('expected a lease');
  return created.lease;
}

/** Waits until the store's clock is past `ms` from now (leases and windows are judged by the database clock). */
export async function letTimePass(store: ExecutionStore, ms: number): Promise<void> {
  const until = (await store.now()) + ms + 5;
  await waitFor('the store clock to move on', async () => (await store.now()) > until, 5000, 20);
}

export function typesOf(rows: readonly JournalRow[]): string[] {
  return rows.map((stored) => stored.type);
}

/** Journal rows and keys the SQL stores still hold for these executions. */
export async function leftovers(store: ExecutionStore, ids: readonly string[]): Promise<{ rows: number; keys: number }> {
  if (store instanceof PostgresExecutionStore) {
    const rows = await store.pool.query<{ n: string }>(`SELECT count(*) AS n FROM flowd_journal WHERE execution_id = ANY($1::text[])`, [ids]);
    const keys = await store.pool.query<{ n: string }>(`SELECT count(*) AS n FROM flowd_idempotency_keys WHERE execution_id = ANY($1::text[])`, [ids]);
    return { rows: Number(rows.rows[0]!.n), keys: Number(keys.rows[0]!.n) };
  }
  const sqlite = store as unknown as { db: { prepare(sql: string): { get(...args: unknown[]): unknown } } };
  const list = JSON.stringify(ids);
  const count = (table: string): number =>
    (sqlite.db.prepare(`SELECT count(*) AS n FROM ${table} WHERE execution_id IN (SELECT value FROM json_each(?))`).get(list) as { n: number }).n;
  return { rows: count('flowd_journal'), keys: count('flowd_idempotency_keys') };
}
