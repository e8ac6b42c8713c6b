/**
 * The ExecutionStore contract, second part (execution-store.test.ts has the first): idempotency
 * keys, finding successes, and purging, against memory, SQLite and PostgreSQL.
 */
import { describe, expect, it } from 'vitest';
import type { ExecutionStore, Lease } from '../../src/store/execution-store.js';
import { BACKENDS, finishedRow, leftovers, letTimePass, newExecution, row, running, savedExecution, startedRow, unique, useTestStore } from './store-fixtures.js';

describe.each(BACKENDS)('%s execution store', (backend) => {
  let store: ExecutionStore;
  useTestStore(backend, (opened) => {
    store = opened;
  });

  describe('idempotency', () => {
    it('lets exactly one of 50 concurrent creations with one idempotency key through', async () => {
      const flow = unique('idem');
      const key = unique('key');
      const results = await Promise.all(
        Array.from({ length: 50 }, () => store.create(newExecution({ flow, idempotency: { key, fingerprint: 'same', ttlMs: 60_000 } }))),
      );
      expect(results.filter((result) => result.created)).toHaveLength(1);
      const winner = (await store.list({ flow, limit: 100 })).items;
      expect(winner).toHaveLength(1);
      for (const result of results) if (!result.created) expect(result).toEqual({ created: false, executionId: winner[0]!.executionId, fingerprint: 'same' });
      const other = await store.create(newExecution({ flow, idempotency: { key, fingerprint: 'different', ttlMs: 60_000 } }));
      expect(other).toEqual({ created: false, executionId: winner[0]!.executionId, fingerprint: 'same' });
    });

    it('treats keys as opaque strings: a key scoped to another tenant is another key', async () => {
      const key = unique('k');
      const first = await store.create(newExecution({ tenant: 'a', idempotency: { key: `u:a:${key}`, fingerprint: 'f', ttlMs: 60_000 } }));
      const second = await store.create(newExecution({ tenant: 'b', idempotency: { key: `u:b:${key}`, fingerprint: 'f', ttlMs: 60_000 } }));
      expect([first.created, second.created]).toEqual([true, true]);
    });

    it('lets an idempotency key be used again once its TTL passed', async () => {
      const key = unique('ttl');
      const create = () => store.create(newExecution({ idempotency: { key, fingerprint: 'f', ttlMs: 300 } }));
      expect((await create()).created).toBe(true);
      expect((await create()).created).toBe(false);
      await letTimePass(store, 300);
      expect((await create()).created).toBe(true);
    });

    it('finds the execution a key names while the key lives, nothing for an unknown or expired key', async () => {
      const key = unique('find');
      expect(await store.findIdempotencyKey(key)).toBeUndefined();
      const execution = newExecution({ idempotency: { key, fingerprint: 'print', ttlMs: 300 } });
      expect((await store.create(execution)).created).toBe(true);
      expect(await store.findIdempotencyKey(key)).toEqual({ executionId: execution.executionId, fingerprint: 'print' });
      await letTimePass(store, 300);
      expect(await store.findIdempotencyKey(key)).toBeUndefined();
    });
  });

  describe('finding and purging ended executions', () => {
    it('finds the newest success of a flow for a tenant and correlation key within a window, with its output', async () => {
      const flow = unique('verify');
      await store.save(savedExecution({ flow, correlationKey: 'c-1', rows: [startedRow('x'), finishedRow(1, 'succeeded', 'old')] }));
      // Finished a few ms later on the store's clock.
      await letTimePass(store, 5);
      const fresh = await running(store, { flow, correlationKey: 'c-1' });
      await store.finish(fresh, [finishedRow(1, 'succeeded', 'fresh')], { status: 'succeeded' });
      await store.save(savedExecution({ flow, correlationKey: 'c-2', summary: { status: 'failed' } }));
      await store.save(savedExecution({ flow, correlationKey: 'c-1', tenant: 'someone-else' }));
      const found = await store.findSucceeded({ flow, correlationKey: 'c-1', tenant: 'local', withinMs: 60_000 });
      expect(found?.executionId).toBe(fresh.executionId);
      expect(found?.finished.type).toBe('execution_finished');
      expect(JSON.parse(found!.finished.state!)).toEqual({ output: 'fresh' });
      expect(await store.findSucceeded({ flow, correlationKey: 'c-2', tenant: 'local', withinMs: 60_000 })).toBeUndefined();
      expect((await store.findSucceeded({ flow, correlationKey: undefined, tenant: 'local', withinMs: 60_000 }))?.executionId).toBe(fresh.executionId);
      expect(await store.findSucceeded({ flow, correlationKey: 'c-1', tenant: 'nobody', withinMs: 60_000 })).toBeUndefined();
      await letTimePass(store, 200);
      expect(await store.findSucceeded({ flow, correlationKey: 'c-1', tenant: 'local', withinMs: 100 })).toBeUndefined();
    });

    it('finds a success finished with clearState, its output as shown', async () => {
      const flow = unique('cleared');
      const lease = await running(store, { flow });
      await store.finish(lease, [finishedRow(1, 'succeeded', 'raw')], { status: 'succeeded' }, { clearState: true });
      const found = await store.findSucceeded({ flow, correlationKey: undefined, tenant: 'local', withinMs: 60_000 });
      expect(found?.finished.state).toBeNull();
      expect(JSON.parse(found!.finished.data)).toMatchObject({ output: 'shown' });
    });

    it('finds a success whose final write went on after execution_finished (the flows it triggered)', async () => {
      const flow = unique('triggers');
      const saved = savedExecution({
        flow,
        rows: [startedRow('x'), row(1, 'phase_started'), row(2, 'phase_ended'), finishedRow(3, 'succeeded', 'out'), row(4, 'triggered'), row(5, 'triggered')],
      });
      await store.save(saved);
      const found = await store.findSucceeded({ flow, correlationKey: undefined, tenant: 'local', withinMs: 60_000 });
      expect(found?.executionId).toBe(saved.executionId);
      expect(found?.finished).toMatchObject({ seq: 3, type: 'execution_finished' });
      expect((await store.get(saved.executionId, { withState: true }))?.rows).toEqual(saved.rows);
    });

    it('purges ended executions older than the retention in batches, with their rows and keys, never unfinished ones', async () => {
      const flow = unique('purge');
      const ended: string[] = [];
      for (let i = 0; i < 5; i += 1) {
        const saved = savedExecution({ flow });
        ended.push(saved.executionId);
        await store.save(saved);
      }
      const key = unique('purge-key');
      const keyed = await store.create(newExecution({ flow, status: 'running', owner: 'w', idempotency: { key, fingerprint: 'f', ttlMs: 3_600_000 } }));
      const lease = (keyed as { lease: Lease }).lease;
      await store.append(lease, [row(1, 'log')], 60_000);
      await store.finish(lease, [finishedRow(2, 'failed')], { status: 'failed' });
      ended.push(lease.executionId);
      const live = await running(store, { flow });
      const queued = newExecution({ flow });
      await store.create(queued);
      await letTimePass(store, 30);
      let removed = 0;
      for (let batch = 0; batch < 100; batch += 1) {
        const count = await store.purge(10, 2);
        removed += count;
        if (count === 0) break;
      }
      expect(removed).toBeGreaterThanOrEqual(7);
      for (const id of ended) expect(await store.get(id)).toBeUndefined();
      expect((await store.list({ flow, limit: 10 })).items.map((item) => item.executionId).sort()).toEqual([live.executionId, queued.executionId].sort());
      expect(await store.get(live.executionId)).toBeDefined();
      // The key of a purged execution is gone with it: it can be used again.
      expect((await store.create(newExecution({ flow, idempotency: { key, fingerprint: 'f', ttlMs: 60_000 } }))).created).toBe(true);
      if (backend !== 'memory') {
        // No row of a purged execution is left behind.
        const counts = await leftovers(store, ended);
        expect(counts).toEqual({ rows: 0, keys: 0 });
      }
    });
  });
});
