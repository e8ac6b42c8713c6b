/** SQLite group commit: one transaction per turn of the event loop, bounded; a failing write undoes only itself. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseLostError } from '../../src/errors.js';
import { SqliteGroupCommit } from '../../src/store/sqlite-group-commit.js';
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
    await expect(store.append({ ...lease, epoch: lease.epoch + 1 }, [row(1, 'log')], 60_000)).rejects.toBeInstanceOf(LeaseLostError);
    expect(store.writeStats().reruns - before.reruns).toBe(0);
    expect(store.writeStats().transactions - before.transactions).toBe(0);
  });

  it('when the transaction cannot begin (another process holds the write lock), every write of the batch is refused, none run twice', async () => {
    const busy = SqliteExecutionStore.open({ path: join(dir, 'flowd.db'), busyTimeoutMs: 20 });
    const holder = new Database(join(dir, 'flowd.db'));
    try {
      const first = await running(busy);
      const second = await running(busy);
      holder.exec('BEGIN IMMEDIATE');
      const before = busy.writeStats();
      const outcomes = await Promise.allSettled([busy.append(first, [row(1, 'log')], 60_000), busy.append(second, [row(1, 'log')], 60_000)]);
      expect(outcomes.map((outcome) => (outcome.status === 'rejected' ? (outcome.reason as { code?: string }).code : 'fulfilled'))).toEqual(['SQLITE_BUSY', 'SQLITE_BUSY']);
      expect(busy.writeStats().reruns - before.reruns).toBe(0);
      holder.exec('ROLLBACK');
      expect((await busy.get(first.executionId))?.rows).toHaveLength(1);
    } finally {
      holder.close();
      await busy.close();
    }
  });
});

describe('SQLite group commit when SQLite rolls the whole transaction back (disk full, I/O error)', () => {
  function setup(): { db: Database.Database; writes: SqliteGroupCommit; rows: () => number[] } {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE t (x INTEGER)');
    return { db, writes: new SqliteGroupCommit(db), rows: () => (db.prepare('SELECT x FROM t ORDER BY x').all() as { x: number }[]).map((r) => r.x) };
  }
  /** What SQLite does on SQLITE_FULL and its kin: the transaction is gone, and the statement fails. */
  function rolledBack(db: Database.Database): never {
    db.exec('ROLLBACK');
    throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
  }

  it('refuses every write of the batch at once, without running them again', async () => {
    const { db, writes, rows } = setup();
    const insert = db.prepare('INSERT INTO t (x) VALUES (?)');
    const outcomes = await Promise.allSettled([writes.write(() => insert.run(1)), writes.write(() => rolledBack(db)), writes.write(() => insert.run(3))]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(rows()).toEqual([]);
    expect(writes.stats().reruns).toBe(0);
    db.close();
  });

  it('stops the write-by-write run too: no write after it is committed on its own while its callers are told it failed', async () => {
    const { db, writes, rows } = setup();
    const insert = db.prepare('INSERT INTO t (x) VALUES (?)');
    let runs = 0;
    // Fails like a lost lease first (the batch is run again write by write), then like a full disk.
    const failing = (): never => {
      runs += 1;
      if (runs === 1) throw new Error('an ordinary failure');
      return rolledBack(db);
    };
    const outcomes = await Promise.allSettled([writes.write(() => insert.run(1)), writes.write(failing), writes.write(() => insert.run(3))]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(rows()).toEqual([]);
    expect(writes.stats()).toMatchObject({ reruns: 1, transactions: 0 });
    db.close();
  });
});
