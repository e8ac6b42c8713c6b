/** SQLite group commit: one transaction per turn of the event loop, bounded; a failing write undoes only itself. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteExecutionStore } from '../../src/store/sqlite-store.js';
import { finishedRow, newExecution, row, running } from './store-fixtures.js';

describe('SQLite group commit', () => {
  let dir: string;
  let store: SqliteExecutionStore;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flowd-sqlite-gc-'));
    store = SqliteExecutionStore.open({ path: join(dir, 'flowd.db'), groupCommit: { maxRows: 10, maxBytes: 1_000_000 } });
  });

  afterAll(async () => {
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('commits the writes of one turn together, split into transactions of at most maxRows rows', async () => {
    const leases = await Promise.all(Array.from({ length: 12 }, () => running(store)));
    const before = store.writeStats();
    await Promise.all(leases.map((lease) => store.append(lease, [row(1, 'log'), row(2, 'log')], 60_000)));
    const after = store.writeStats();
    expect(after.operations - before.operations).toBe(12);
    expect(after.transactions - before.transactions).toBe(3); // 5 + 5 + 2 appends of 2 rows
    expect(after.reruns - before.reruns).toBe(0);
  });

  it('fails only the write that fails: the others of its transaction commit', async () => {
    const taken = await running(store);
    const lease = await running(store);
    const before = store.writeStats();
    const outcomes = await Promise.allSettled([
      store.create(newExecution({ executionId: taken.executionId })),
      store.finish(lease, [finishedRow(1, 'succeeded')], { status: 'succeeded' }),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'fulfilled']);
    expect(store.writeStats().transactions - before.transactions).toBe(1);
    expect(store.writeStats().reruns - before.reruns).toBe(1); // run together first, then write by write
    expect((await store.get(lease.executionId))?.summary.status).toBe('succeeded');
    expect((await store.get(taken.executionId))?.rows).toHaveLength(1);
  });

  it('a write that fails after writing part of its rows leaves none of them, and the rest of the batch commits', async () => {
    const taken = await running(store);
    const lease = await running(store);
    const outcomes = await Promise.allSettled([
      store.append(lease, [row(1, 'log'), row(2, 'log')], 60_000),
      // Its idempotency key is written, then its execution row collides with an existing one: the key may not stay.
      store.create(newExecution({ executionId: taken.executionId, idempotency: { key: 'partly-written', fingerprint: 'f', ttlMs: 60_000 } })),
      store.finish(lease, [finishedRow(3, 'succeeded')], { status: 'succeeded' }),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const kept = await store.get(lease.executionId);
    expect(kept?.summary.status).toBe('succeeded');
    expect(kept?.rows.map((stored) => stored.seq)).toEqual([0, 1, 2, 3]);
    const again = await store.create(newExecution({ idempotency: { key: 'partly-written', fingerprint: 'g', ttlMs: 60_000 } }));
    expect(again.created).toBe(true); // the key of the failed write was not kept
  });

  it('a lone failing write is refused without a second run', async () => {
    const lease = await running(store);
    const before = store.writeStats();
    await expect(store.append({ ...lease, epoch: lease.epoch + 1 }, [row(1, 'log')], 60_000)).rejects.toThrow();
    expect(store.writeStats().reruns - before.reruns).toBe(0);
    expect(store.writeStats().transactions - before.transactions).toBe(0);
  });
});
