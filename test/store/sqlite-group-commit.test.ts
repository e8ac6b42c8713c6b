/** SQLite group commit: one transaction per turn of the event loop, bounded, each write in its own savepoint. */
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
    expect((await store.get(lease.executionId))?.summary.status).toBe('succeeded');
    expect((await store.get(taken.executionId))?.rows).toHaveLength(1);
  });
});
