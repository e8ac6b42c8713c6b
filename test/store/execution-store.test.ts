/**
 * The ExecutionStore contract, run against every implementation with a real database:
 * memory, SQLite (temp dir) and PostgreSQL (a fresh schema, dropped afterwards).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseLostError } from '../../src/errors.js';
import { newExecutionId } from '../../src/engine/ids.js';
import type { ExecutionRecord, ExecutionStatus } from '../../src/engine/record.js';
import type { ExecutionStore, Lease, NewExecution } from '../../src/store/execution-store.js';
import { createTestDatabase, waitFor, type Backend, type TestDatabase } from '../durable/helpers.js';

const FLOWS = [{ name: 'alpha', hash: 'h1' }];

function record(executionId: string, status: ExecutionStatus, extra: Partial<ExecutionRecord> = {}): ExecutionRecord {
  return {
    executionId,
    flow: 'alpha',
    version: '1',
    status,
    input: { n: 1 },
    startedAt: new Date().toISOString(),
    errorHandled: false,
    fallbackExecuted: false,
    recovered: false,
    phases: [],
    ...extra,
  };
}

function newExecution(overrides: Partial<NewExecution> = {}): NewExecution {
  const executionId = overrides.executionId ?? newExecutionId();
  const status = overrides.status ?? 'queued';
  return {
    executionId,
    flow: 'alpha',
    version: '1',
    flowHash: 'h1',
    input: { n: 1 },
    options: {},
    status,
    owner: status === 'running' ? 'owner-a' : undefined,
    leaseMs: 60_000,
    record: record(executionId, status),
    ...overrides,
  };
}

/** Waits until the store's clock is past `ms` from now (lease expiry is judged by the database). */
async function letLeaseExpire(store: ExecutionStore, leaseMs: number): Promise<void> {
  const until = (await store.now()) + leaseMs + 5;
  await waitFor('the lease to expire on the database clock', async () => (await store.now()) > until, 5000, 20);
}

const BACKENDS: Backend[] = ['memory', 'sqlite', 'postgres'];

describe.each(BACKENDS)('%s execution store', (backend) => {
  let db: TestDatabase;
  let store: ExecutionStore;

  beforeAll(async () => {
    db = await createTestDatabase(backend);
    store = await db.open();
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('creates, reads and lists executions newest first with filters and a cursor', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      const created = await store.create(newExecution({ flow: 'lister', flowHash: 'x' }));
      expect(created.created).toBe(true);
    }
    const page1 = await store.list({ flow: 'lister', limit: 2 });
    expect(page1.items).toHaveLength(2);
    expect(page1.nextCursor).toBeDefined();
    ids.push(...page1.items.map((item) => item.executionId));
    const page2 = await store.list({ flow: 'lister', limit: 2, cursor: page1.nextCursor });
    const page3 = await store.list({ flow: 'lister', limit: 2, cursor: page2.nextCursor });
    ids.push(...page2.items.map((item) => item.executionId), ...page3.items.map((item) => item.executionId));
    expect(ids).toHaveLength(5);
    expect(page3.nextCursor).toBeUndefined();
    expect([...ids].sort().reverse()).toEqual(ids);
    expect((await store.list({ flow: 'lister', status: 'running', limit: 10 })).items).toHaveLength(0);
    expect((await store.list({ flow: 'lister', status: 'queued', limit: 10 })).items).toHaveLength(5);
    const one = await store.get(ids[0]!);
    expect(one).toMatchObject({ executionId: ids[0], flow: 'alpha', status: 'queued' });
  });

  it('claims queued work in batches for known definitions only, with a new epoch each time', async () => {
    const queued = [];
    for (let i = 0; i < 3; i += 1) queued.push(await store.create(newExecution({ flow: 'batch', flowHash: 'b1' })));
    await store.create(newExecution({ flow: 'batch', flowHash: 'other-definition' }));
    const first = await store.claim({ owner: 'w1', flows: [{ name: 'batch', hash: 'b1' }], limit: 2, leaseMs: 60_000 });
    expect(first).toHaveLength(2);
    expect(first.every((claimed) => claimed.lease.epoch === 1 && claimed.attempts === 1 && claimed.lease.owner === 'w1')).toBe(true);
    const second = await store.claim({ owner: 'w2', flows: [{ name: 'batch', hash: 'b1' }], limit: 5, leaseMs: 60_000 });
    expect(second).toHaveLength(1);
    expect(new Set([...first, ...second].map((claimed) => claimed.lease.executionId)).size).toBe(3);
    expect(await store.claim({ owner: 'w3', flows: [{ name: 'batch', hash: 'b1' }], limit: 5, leaseMs: 60_000 })).toHaveLength(0);
    const elsewhere = await store.pendingElsewhere([{ name: 'batch', hash: 'b1' }, ...FLOWS]);
    expect(elsewhere).toContainEqual({ flow: 'batch', flowHash: 'other-definition', count: 1 });
    expect((await store.get(first[0]!.lease.executionId))?.status).toBe('running');
  });

  it('hands checkpoints and compensation requests to the worker that takes an expired lease over', async () => {
    const created = await store.create(newExecution({ flow: 'resume', flowHash: 'r1', status: 'running', owner: 'w1', leaseMs: 150 }));
    const lease = (created as { lease: Lease }).lease;
    expect(lease.epoch).toBe(1);
    await store.checkpoint(lease, 'one', { a: 1 }, { method: 'POST' }, 150);
    await store.checkpoint(lease, 'two#0', [1, 'x'], undefined, 150);
    await store.checkpoint(lease, 'nothing', undefined, undefined, 150);
    expect(await store.claim({ owner: 'w2', flows: [{ name: 'resume', hash: 'r1' }], limit: 1, leaseMs: 60_000 })).toHaveLength(0);
    await letLeaseExpire(store, 150);
    const [claimed] = await store.claim({ owner: 'w2', flows: [{ name: 'resume', hash: 'r1' }], limit: 1, leaseMs: 60_000 });
    expect(claimed?.lease).toEqual({ executionId: lease.executionId, owner: 'w2', epoch: 2 });
    expect(claimed?.attempts).toBe(2);
    expect(claimed?.input).toEqual({ n: 1 });
    expect(claimed?.checkpoints.get('one')).toEqual({ a: 1 });
    expect(claimed?.checkpoints.get('two#0')).toEqual([1, 'x']);
    expect(claimed?.checkpoints.get('nothing')).toBeUndefined();
    expect(claimed?.compensationRequests.get('one')).toEqual({ method: 'POST' });
    expect(claimed?.compensationRequests.has('two#0')).toBe(false);
    const outputs = await store.getCheckpoints(lease.executionId);
    expect(outputs?.checkpoints.get('one')).toEqual({ a: 1 });
  });

  it('(d) refuses every write of a worker whose lease was taken over (fencing by epoch)', async () => {
    const created = await store.create(newExecution({ flow: 'fence', flowHash: 'f1', status: 'running', owner: 'old', leaseMs: 150 }));
    const old = (created as { lease: Lease }).lease;
    await store.checkpoint(old, 'first', 'from-old', undefined, 150);
    await letLeaseExpire(store, 150);
    const [claimed] = await store.claim({ owner: 'new', flows: [{ name: 'fence', hash: 'f1' }], limit: 1, leaseMs: 60_000 });
    const current = claimed!.lease;
    expect(current.epoch).toBe(old.epoch + 1);

    // The old owner wakes up late: its checkpoint, heartbeat and final write are all refused.
    await expect(store.checkpoint(old, 'second', 'late', undefined, 150)).rejects.toBeInstanceOf(LeaseLostError);
    await expect(store.finish(old, record(old.executionId, 'failed'))).rejects.toBeInstanceOf(LeaseLostError);
    expect(await store.heartbeat('old', [old], 60_000)).toEqual({ lost: [old.executionId], cancelRequested: [] });

    await store.checkpoint(current, 'second', 'from-new', undefined, 60_000);
    await store.finish(current, record(old.executionId, 'succeeded', { output: 'new' }));
    const final = await store.get(old.executionId);
    expect(final).toMatchObject({ status: 'succeeded', output: 'new' });
    const outputs = await store.getCheckpoints(old.executionId);
    expect(outputs?.checkpoints.get('second')).toBe('from-new');
    // Finished: a write at the current epoch is refused too.
    await expect(store.checkpoint(current, 'third', 'after-end', undefined, 60_000)).rejects.toBeInstanceOf(LeaseLostError);
  });

  it('renews held leases on the database clock and reports cancellation requests', async () => {
    const created = await store.create(newExecution({ flow: 'beat', flowHash: 'b', status: 'running', owner: 'w', leaseMs: 300 }));
    const lease = (created as { lease: Lease }).lease;
    expect(await store.heartbeat('w', [lease], 60_000)).toEqual({ lost: [], cancelRequested: [] });
    // Renewed for 60 s: nobody can take it over now.
    await letLeaseExpire(store, 300);
    expect(await store.claim({ owner: 'x', flows: [{ name: 'beat', hash: 'b' }], limit: 1, leaseMs: 60_000 })).toHaveLength(0);
    expect(await store.heartbeat('someone-else', [lease], 60_000)).toEqual({ lost: [lease.executionId], cancelRequested: [] });
    expect(await store.cancel(lease.executionId, (current) => current)).toBe('requested');
    expect(await store.heartbeat('w', [lease], 60_000)).toEqual({ lost: [], cancelRequested: [lease.executionId] });
    // Released (shutdown): claimable at once, by anyone.
    await store.release([lease]);
    const [taken] = await store.claim({ owner: 'x', flows: [{ name: 'beat', hash: 'b' }], limit: 1, leaseMs: 60_000 });
    expect(taken?.lease.epoch).toBe(2);
    expect(taken?.cancelRequested).toBe(true);
  });

  it('(c) lets exactly one of 50 concurrent creations with one idempotency key through', async () => {
    const key = `key-${backend}-${Date.now()}`;
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        store.create(newExecution({ flow: 'idem', flowHash: 'i', idempotency: { key, fingerprint: 'same', ttlMs: 60_000 } })),
      ),
    );
    const created = results.filter((result) => result.created);
    expect(created).toHaveLength(1);
    const winner = (await store.list({ flow: 'idem', limit: 100 })).items;
    expect(winner).toHaveLength(1);
    for (const result of results) {
      if (!result.created) expect(result).toEqual({ created: false, executionId: winner[0]!.executionId, fingerprint: 'same' });
    }
    const other = await store.create(newExecution({ flow: 'idem', flowHash: 'i', idempotency: { key, fingerprint: 'different', ttlMs: 60_000 } }));
    expect(other).toEqual({ created: false, executionId: winner[0]!.executionId, fingerprint: 'same' });
  });

  it('lets an idempotency key be used again once its TTL passed', async () => {
    const key = `ttl-${backend}-${Date.now()}`;
    const first = await store.create(newExecution({ flow: 'ttl', flowHash: 't', idempotency: { key, fingerprint: 'f', ttlMs: 1000 } }));
    expect(first.created).toBe(true);
    expect((await store.create(newExecution({ flow: 'ttl', flowHash: 't', idempotency: { key, fingerprint: 'f', ttlMs: 1000 } }))).created).toBe(false);
    await letLeaseExpire(store, 1000);
    expect((await store.create(newExecution({ flow: 'ttl', flowHash: 't', idempotency: { key, fingerprint: 'f', ttlMs: 1000 } }))).created).toBe(true);
  });

  it('cancels queued executions at once and flags running ones', async () => {
    const queued = newExecution({ flow: 'cancel', flowHash: 'c' });
    await store.create(queued);
    const cancel = (current: ExecutionRecord): ExecutionRecord => ({ ...current, status: 'cancelled', error: { code: 'FLOWD_ERR_CANCELLED', message: 'x' } });
    expect(await store.cancel(queued.executionId, cancel)).toBe('cancelled');
    expect(await store.get(queued.executionId)).toMatchObject({ status: 'cancelled', error: { code: 'FLOWD_ERR_CANCELLED' } });
    expect(await store.claim({ owner: 'w', flows: [{ name: 'cancel', hash: 'c' }], limit: 5, leaseMs: 1000 })).toHaveLength(0);
    expect(await store.cancel(queued.executionId, cancel)).toBe('terminal');
    expect(await store.cancel(newExecutionId(), cancel)).toBe('not_found');
  });

  it('keeps non-resumable records without ever overwriting a leased one', async () => {
    const created = await store.create(newExecution({ flow: 'save', flowHash: 's', status: 'running', owner: 'w' }));
    const lease = (created as { lease: Lease }).lease;
    await store.save(record(lease.executionId, 'failed', { flow: 'save' }));
    expect((await store.get(lease.executionId))?.status).toBe('running');
    const plain = newExecutionId();
    await store.save(record(plain, 'failed', { flow: 'save' }), { flowHash: 's' });
    await store.save(record(plain, 'compensated', { flow: 'save' }), { flowHash: 's' });
    expect((await store.get(plain))?.status).toBe('compensated');
    // Not resumable: never claimed.
    expect((await store.claim({ owner: 'w', flows: [{ name: 'save', hash: 's' }], limit: 5, leaseMs: 1000 })).map((c) => c.lease.executionId)).not.toContain(plain);
  });

  it('finds the newest success of a flow for a correlation key within a window', async () => {
    const old = newExecutionId();
    await store.save(record(old, 'succeeded', { flow: 'verify', correlationKey: 'c-1', output: 'old' }));
    // Finished a few ms later on the store's clock (ids minted in one ms do not sort by time).
    await letLeaseExpire(store, 5);
    const fresh = newExecutionId();
    await store.save(record(fresh, 'succeeded', { flow: 'verify', correlationKey: 'c-1', output: 'fresh' }));
    await store.save(record(newExecutionId(), 'failed', { flow: 'verify', correlationKey: 'c-2' }));
    expect((await store.findSucceeded('verify', 'c-1', 60_000))?.output).toBe('fresh');
    expect(await store.findSucceeded('verify', 'c-2', 60_000)).toBeUndefined();
    expect((await store.findSucceeded('verify', undefined, 60_000))?.flow).toBe('verify');
    await letLeaseExpire(store, 200);
    expect(await store.findSucceeded('verify', 'c-1', 100)).toBeUndefined();
  });

  it('keeps logs of known executions only, bounded per execution', async () => {
    const id = newExecutionId();
    await store.save(record(id, 'succeeded'));
    await store.appendLogs(id, [{ time: 't', level: 'info', msg: 'one' }]);
    await store.appendLogs(id, Array.from({ length: 600 }, (_, i) => ({ time: 't', level: 'info' as const, msg: `line ${i}` })));
    const logs = await store.getLogs(id);
    expect(logs).toHaveLength(500);
    expect(logs?.[0]?.msg).toBe('one');
    const unknown = newExecutionId();
    await store.appendLogs(unknown, [{ time: 't', level: 'info', msg: 'lost' }]);
    expect(await store.getLogs(unknown)).toBeUndefined();
  });

  it('purges ended executions older than the retention in batches, never running ones', async () => {
    const ended: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      const id = newExecutionId();
      ended.push(id);
      await store.save(record(id, 'succeeded', { flow: 'purge' }));
    }
    const key = `purge-${backend}`;
    const running = await store.create(newExecution({ flow: 'purge', flowHash: 'p', status: 'running', owner: 'w', idempotency: { key, fingerprint: 'f', ttlMs: 3_600_000 } }));
    const lease = (running as { lease: Lease }).lease;
    await store.finish(lease, record(lease.executionId, 'succeeded', { flow: 'purge' }));
    const live = await store.create(newExecution({ flow: 'purge', flowHash: 'p', status: 'running', owner: 'w' }));
    await letLeaseExpire(store, 30);
    let removed = 0;
    for (let batch = 0; batch < 40; batch += 1) {
      const count = await store.purge(10, 2);
      removed += count;
      if (count === 0) break;
    }
    expect(removed).toBeGreaterThanOrEqual(6);
    for (const id of ended) expect(await store.get(id)).toBeUndefined();
    expect(await store.get((live as { lease: Lease }).lease.executionId)).toBeDefined();
    // The key of a purged execution is gone with it: it can be used again.
    expect((await store.create(newExecution({ flow: 'purge', flowHash: 'p', idempotency: { key, fingerprint: 'f', ttlMs: 60_000 } }))).created).toBe(true);
  });
});
