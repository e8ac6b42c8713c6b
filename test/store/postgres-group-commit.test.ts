/**
 * PostgreSQL group commit: what reaches the server (counted on the wire by a proxy), batch bounds,
 * failure isolation, and idempotency races between replicas.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseLostError } from '../../src/errors.js';
import type { ClaimedExecution, Lease } from '../../src/store/execution-store.js';
import { PostgresExecutionStore } from '../../src/store/postgres-store.js';
import { PG_URL, dropSchema, waitFor } from '../durable/helpers.js';
import { PgWireCounter } from './pg-wire-counter.js';
import { finishedRow, newExecution, row, running, savedExecution } from './store-fixtures.js';

const schema = `flowd_test_${randomBytes(5).toString('hex')}`;
const stores: PostgresExecutionStore[] = [];
let counter: PgWireCounter;
let store: PostgresExecutionStore;

async function open(options: Partial<Parameters<typeof PostgresExecutionStore.open>[0]> = {}): Promise<PostgresExecutionStore> {
  const opened = await PostgresExecutionStore.open({ connectionString: PG_URL, schema, poolMax: 10, ...options });
  stores.push(opened);
  return opened;
}

beforeAll(async () => {
  counter = await new PgWireCounter({ host: '127.0.0.1', port: Number(new URL(PG_URL).port || 5432) }).start();
  const url = new URL(PG_URL);
  url.port = String(counter.port);
  store = await open({ connectionString: url.toString() });
});

afterAll(async () => {
  await Promise.allSettled(stores.map((opened) => opened.close()));
  await counter?.close();
  await dropSchema(schema);
});

const unique = (name: string): string => `${name}-${randomBytes(4).toString('hex')}`;
const effects = [1, 2, 3];

/** What one durable execution with three side-effect phases writes (create, an append before each effect, finish). */
async function withSideEffects(flow: string): Promise<void> {
  const lease = await running(store, { flow });
  for (const seq of effects) await store.append(lease, [row(seq, 'request_sent', { ref: 0 })], 60_000);
  await store.finish(lease, [finishedRow(4, 'succeeded', { done: true })], { status: 'succeeded' }, { clearState: true });
}

/** The rest of an async execution once a worker claimed it. */
async function runClaimed(claimed: ClaimedExecution): Promise<void> {
  for (const seq of effects) await store.append(claimed.lease, [row(seq, 'request_sent', { ref: 0 })], 60_000);
  await store.finish(claimed.lease, [finishedRow(4, 'succeeded', { done: true })], { status: 'succeeded' });
}

describe('PostgreSQL group commit, counted on the wire', () => {
  it('sends a sync execution kept by `persistence: all` as one statement, and 50 concurrent ones as one round trip', async () => {
    counter.take();
    for (let i = 0; i < 5; i += 1) await store.save(savedExecution());
    expect(counter.take()).toEqual({ statements: 5, roundTrips: 5 });
    await Promise.all(Array.from({ length: 50 }, () => store.save(savedExecution())));
    expect(counter.take()).toEqual({ statements: 1, roundTrips: 1 });
  });

  it('writes an execution with three side effects in five statements, and 50 concurrent ones in five round trips', async () => {
    const flow = unique('effects');
    counter.take();
    await withSideEffects(flow);
    expect(counter.take()).toEqual({ statements: 5, roundTrips: 5 });
    await Promise.all(Array.from({ length: 50 }, () => withSideEffects(flow)));
    expect(counter.take()).toEqual({ statements: 5, roundTrips: 5 });
    expect((await store.list({ flow, status: 'succeeded', limit: 100 })).items).toHaveLength(51);
  });

  it('runs an async execution (queued, claimed, three side effects, finished) in seven statements, and 50 of them in seven', async () => {
    const flow = unique('async');
    const claim = (limit: number) => store.claim({ owner: 'worker', flows: [{ name: flow, hash: 'h1' }], limit, leaseMs: 60_000 });
    counter.take();
    await store.create(newExecution({ flow }));
    const [one] = await claim(1);
    await runClaimed(one!);
    expect(counter.take()).toEqual({ statements: 7, roundTrips: 7 });
    await Promise.all(Array.from({ length: 50 }, () => store.create(newExecution({ flow }))));
    const claimed = await claim(50);
    expect(claimed).toHaveLength(50);
    await Promise.all(claimed.map(runClaimed));
    expect(counter.take()).toEqual({ statements: 7, roundTrips: 7 });
  });
});

describe('PostgreSQL group commit, batches', () => {
  it('splits the writes of one turn into batches of at most maxRows rows and maxBytes bytes; a larger write goes alone', async () => {
    const bounded = await open({ groupCommit: { maxRows: 10, maxBytes: 20_000 } });
    const leases = await Promise.all(Array.from({ length: 30 }, () => running(bounded)));
    let before = bounded.writeStats();
    await Promise.all(leases.map((lease) => bounded.append(lease, [row(1, 'log'), row(2, 'log')], 60_000)));
    let after = bounded.writeStats();
    expect(after.operations - before.operations).toBe(30);
    expect(after.batches - before.batches).toBe(6); // 5 appends of 2 rows a batch
    before = after;
    const big = 'x'.repeat(8000);
    await Promise.all([
      bounded.append(leases[0]!, Array.from({ length: 25 }, (_, i) => row(3 + i, 'log')), 60_000),
      ...leases.slice(1, 7).map((lease) => bounded.append(lease, [row(3, 'log', { big })], 60_000)),
    ]);
    after = bounded.writeStats();
    // 25 rows alone (over maxRows), then two ~8 KB writes a batch (under maxBytes).
    expect(after.batches - before.batches).toBe(4);
    expect((await bounded.get(leases[0]!.executionId))?.rows).toHaveLength(28);
  });

  it('stores each write as one table row, its text sliced out of one binary parameter byte-exactly (multi-byte, quotes, backslashes)', async () => {
    const texts = ['plain', 'é è 🙂 ✓', 'a "quoted" \\ back\\slash', '{"json":"in a string"}', 'ü'.repeat(3000), '\u2028 \u2029 \t tab'];
    const saved = texts.map((text, i) =>
      savedExecution({
        rows: Array.from({ length: 3 + i }, (_, seq) => row(seq, seq === 2 + i ? 'execution_finished' : 'log', { text, seq }, seq === 0 ? { input: text } : null)),
      }),
    );
    const before = store.writeStats();
    await Promise.all(saved.map((execution) => store.save(execution)));
    expect(store.writeStats().batches - before.batches).toBe(1);
    for (const execution of saved) expect((await store.get(execution.executionId, { withState: true }))?.rows).toEqual(execution.rows);
    const { rows } = await store.pool.query<{ n: string }>(`SELECT count(*) AS n FROM flowd_journal WHERE execution_id = ANY($1::text[])`, [
      saved.map((execution) => execution.executionId),
    ]);
    expect(Number(rows[0]!.n)).toBe(saved.length);
  });

  it('keeps one batch in flight by default: writes queued meanwhile leave together in the next; maxInFlight allows more', async () => {
    /**
     * Three waves of ten appends, each wave one event-loop turn after the previous. Another client
     * holds a row lock on one execution of each wave, so every batch stays in flight until released
     * (a batch locks its executions' rows to check their leases): how many leave at once, and
     * together, depends on the store alone, not on how fast PostgreSQL answers.
     */
    async function waves(target: PostgresExecutionStore, inFlight: number): Promise<{ batches: number; peak: number }> {
      // Created one at a time, so only the waves can have more than one batch in flight.
      const leases: Lease[] = [];
      for (let i = 0; i < 30; i++) leases.push(await running(target));
      expect(target.writeStats().peakInFlight).toBe(1);
      const blocker = new pg.Client({ connectionString: PG_URL });
      await blocker.connect();
      try {
        await blocker.query('BEGIN');
        const held = [leases[0]!, leases[10]!, leases[20]!].map((lease) => lease.executionId);
        await blocker.query(`SELECT 1 FROM "${schema}".flowd_executions WHERE id = ANY($1) FOR UPDATE`, [held]);
        const before = target.writeStats();
        const writes: Promise<void>[] = [];
        for (let wave = 0; wave < 3; wave++) {
          writes.push(...leases.slice(wave * 10, wave * 10 + 10).map((lease) => target.append(lease, [row(1, 'log')], 60_000)));
          await new Promise((resolve) => setImmediate(resolve));
        }
        await waitFor('the batches to leave', () => target.writeStats().batches - before.batches === inFlight);
        await blocker.query('COMMIT');
        await Promise.all(writes);
        const after = target.writeStats();
        expect(after.operations - before.operations).toBe(30);
        return { batches: after.batches - before.batches, peak: after.peakInFlight };
      } finally {
        await blocker.end();
      }
    }
    const single = await open();
    // The first wave goes alone; the two that arrive while it runs share the next batch.
    expect(await waves(single, 1)).toEqual({ batches: 2, peak: 1 });
    const three = await open({ groupCommit: { maxInFlight: 3 } });
    expect(await waves(three, 3)).toEqual({ batches: 3, peak: 3 });
  });

  it('fails only the write that breaks a batch: the others of the batch are retried alone and commit', async () => {
    const taken = await running(store);
    const leases = await Promise.all([running(store), running(store)]);
    const before = store.writeStats();
    const outcomes = await Promise.allSettled([
      store.append(leases[0], [row(1, 'log')], 60_000),
      // The same id again: a primary-key violation fails the batch statement.
      store.create(newExecution({ executionId: taken.executionId })),
      store.finish(leases[1], [finishedRow(1, 'failed')], { status: 'failed' }),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const after = store.writeStats();
    expect(after.batches - before.batches).toBe(1);
    expect(after.statements - before.statements).toBe(4);
    expect((await store.get(leases[0].executionId))?.rows).toHaveLength(2);
    expect((await store.get(leases[1].executionId))?.summary.status).toBe('failed');
  });

  it('keeps the writes of one execution in order: the second waits for the batch that carries the first', async () => {
    const lease = await running(store);
    const before = store.writeStats();
    await Promise.all([store.append(lease, [row(1, 'log')], 60_000), store.finish(lease, [finishedRow(2, 'succeeded')], { status: 'succeeded' })]);
    expect(store.writeStats().batches - before.batches).toBe(2);
    expect((await store.get(lease.executionId))?.rows.map((stored) => stored.seq)).toEqual([0, 1, 2]);
    await expect(store.append(lease, [row(3, 'log')], 60_000)).rejects.toBeInstanceOf(LeaseLostError);
  });

  it('answers every create exactly when two replicas race one idempotency key', async () => {
    const other = await open();
    const key = unique('race');
    const flow = unique('race');
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? store : other).create(newExecution({ flow, idempotency: { key, fingerprint: 'fp', ttlMs: 60_000 } }))),
    );
    const winners = (await store.list({ flow, limit: 100 })).items;
    expect(winners).toHaveLength(1);
    expect(results.filter((result) => result.created)).toHaveLength(1);
    for (const result of results) if (!result.created) expect(result).toEqual({ created: false, executionId: winners[0]!.executionId, fingerprint: 'fp' });
  });

  it('answers a create whose key another transaction committed while its batch waited', async () => {
    const key = unique('late');
    const client = new pg.Client({ connectionString: PG_URL, options: `-c search_path=${schema}` });
    await client.connect();
    try {
      const { rows } = await client.query<{ pid: number }>(`SELECT pg_backend_pid() AS pid`);
      await client.query('BEGIN');
      await client.query(`INSERT INTO flowd_idempotency_keys (key, fingerprint, execution_id, created_at, expires_at) VALUES ($1, 'theirs', 'their-id', 0, 9e15)`, [key]);
      const before = store.writeStats();
      const create = store.create(newExecution({ idempotency: { key, fingerprint: 'ours', ttlMs: 60_000 } }));
      // The batch statement started before that insert commits: its snapshot cannot show the key.
      await waitFor('the batch to wait for the other transaction', async () => {
        const blocked = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))`, [rows[0]!.pid]);
        return blocked.rows[0]!.n > 0;
      }, 5000, 10);
      await client.query('COMMIT');
      expect(await create).toEqual({ created: false, executionId: 'their-id', fingerprint: 'theirs' });
      // One batch, and one look-up of the key after it.
      expect(store.writeStats().statements - before.statements).toBe(2);
    } finally {
      await client.end();
    }
  });

  it('writes what is queued before it closes', async () => {
    const closing = await open();
    const lease: Lease = await running(closing);
    const writes = [closing.append(lease, [row(1, 'log')], 60_000), closing.finish(lease, [finishedRow(2, 'succeeded')], { status: 'succeeded' })];
    await closing.close();
    await Promise.all(writes);
    expect((await store.get(lease.executionId))?.summary.status).toBe('succeeded');
  });
});
