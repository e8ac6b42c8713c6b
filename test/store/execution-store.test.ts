/**
 * The ExecutionStore contract, run against every implementation with a real database:
 * memory, SQLite (temp dir) and PostgreSQL (a fresh schema, dropped afterwards): journal writes,
 * fencing, lists and the work queue; idempotency, lookups and purging are in execution-store-lookups.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { LeaseLostError } from '../../src/errors.js';
import { newExecutionId } from '../../src/engine/ids.js';
import type { ExecutionStore, JournalRow, Lease } from '../../src/store/execution-store.js';
import { PostgresExecutionStore } from '../../src/store/postgres-store.js';
import { BACKENDS, finishedRow, letTimePass, newExecution, row, running, savedExecution, startedRow, typesOf, unique, useTestStore } from './store-fixtures.js';

describe.each(BACKENDS)('%s execution store', (backend) => {
  let store: ExecutionStore;
  useTestStore(backend, (opened) => {
    store = opened;
  });

  describe('journal writes', () => {
    it('creates an execution with its first rows, and reads them back in order, state only when asked', async () => {
      const before = await store.now();
      const lease = await running(store, { tenant: 't-read', options: { timeoutMs: 5000, requestId: 'r-1' }, correlationKey: 'c-9' });
      expect(lease).toMatchObject({ owner: 'owner-a', epoch: 1 });
      const stored = await store.get(lease.executionId);
      expect(stored?.summary).toMatchObject({ executionId: lease.executionId, flow: 'alpha', version: '1', flowHash: 'h1', status: 'running', tenant: 't-read', correlationKey: 'c-9' });
      expect(stored?.summary.startedAt).toBeGreaterThanOrEqual(before);
      expect(stored?.summary.finishedAt).toBeUndefined();
      expect(stored?.options).toEqual({ timeoutMs: 5000, requestId: 'r-1' });
      expect(stored?.rows).toEqual([{ ...startedRow(lease.executionId), state: null }]);
      expect((await store.get(lease.executionId, { withState: true }))?.rows).toEqual([startedRow(lease.executionId)]);
      expect(await store.get(newExecutionId())).toBeUndefined();
    });

    it('appends rows and ends the execution with its summary; the journal keeps every row in seq order', async () => {
      const lease = await running(store);
      await store.append(lease, [row(1, 'run_started', { run: 1 }), row(2, 'phase_started', { phase: 'a' })], 60_000);
      await store.append(lease, [row(3, 'phase_ended', { ref: 2 }, { output: { raw: 'x' } })], 60_000);
      await store.finish(lease, [row(4, 'execution_failed'), finishedRow(5, 'compensated')], { status: 'compensated', errorCode: 'FLOWD_ERR_COMPONENT', recovered: false });
      const stored = await store.get(lease.executionId, { withState: true });
      expect(stored?.summary).toMatchObject({ status: 'compensated', errorCode: 'FLOWD_ERR_COMPONENT', recovered: false });
      expect(stored?.summary.finishedAt).toBeGreaterThanOrEqual(stored!.summary.startedAt);
      expect(typesOf(stored!.rows)).toEqual(['execution_started', 'run_started', 'phase_started', 'phase_ended', 'execution_failed', 'execution_finished']);
      expect(stored?.rows[3]?.state).toBe(JSON.stringify({ output: { raw: 'x' } }));
    });

    it('keeps row text exactly as written (escapes, non-ASCII, large values)', async () => {
      const lease = await running(store);
      const odd = { s: 'tab\t"quote" back\\slash \u0000 nul, é, 日本, 🎉', big: 'x'.repeat(200_000) };
      // A lone surrogate (JSON.stringify writes it as an escape PostgreSQL's json type refuses) and that escape's text spelled out.
      const lone = { s: 'lone \ud800 surrogate', spelled: 'text \\ud800 \\u0000' };
      await store.append(lease, [row(1, 'log', odd, odd), row(2, 'log', lone, odd), row(3, 'log', odd, lone)], 60_000);
      const [, ...stored] = (await store.get(lease.executionId, { withState: true }))!.rows;
      expect(stored).toEqual([row(1, 'log', odd, odd), row(2, 'log', lone, odd), row(3, 'log', odd, lone)]);
    });

    it('drops the raw values of every row when an execution ends with clearState', async () => {
      const lease = await running(store);
      await store.append(lease, [row(1, 'phase_ended', { ref: 0 }, { output: 'secret-raw' })], 60_000);
      await store.finish(lease, [finishedRow(2, 'succeeded', { out: 1 })], { status: 'succeeded' }, { clearState: true });
      const stored = await store.get(lease.executionId, { withState: true });
      expect(stored?.rows.map((stored) => stored.state)).toEqual([null, null, null]);
      expect(JSON.parse(stored!.rows[2]!.data)).toMatchObject({ output: 'shown' });
    });

    it('writes a long batch of rows whole and in order, raw values included (more rows than one statement carries)', async () => {
      const lease = await running(store);
      const many = Array.from({ length: 75 }, (_, i) => row(i + 1, 'log', { msg: `line ${i + 1}` }, { n: i + 1 }));
      await store.append(lease, many, 60_000);
      await store.finish(lease, [finishedRow(76, 'succeeded')], { status: 'succeeded' });
      const rows = (await store.get(lease.executionId, { withState: true }))!.rows;
      expect(rows.map((stored) => stored.seq)).toEqual(Array.from({ length: 77 }, (_, i) => i));
      expect(JSON.parse(rows[75]!.data)).toMatchObject({ msg: 'line 75' });
      expect(rows[40]?.state).toBe(JSON.stringify({ n: 40 }));
    });

    it('ignores rows of a retried append whose seq is stored already', async () => {
      const lease = await running(store);
      await store.append(lease, [row(1, 'phase_started', { phase: 'first' }), row(2, 'phase_ended', { ref: 1 })], 60_000);
      await store.append(lease, [row(1, 'phase_started', { phase: 'again' }), row(2, 'phase_ended', { ref: 1 }), row(3, 'log', { msg: 'new' })], 60_000);
      await store.finish(lease, [row(3, 'log', { msg: 'retried' }), finishedRow(4, 'succeeded')], { status: 'succeeded' });
      const rows = (await store.get(lease.executionId))!.rows;
      expect(rows.map((stored) => stored.seq)).toEqual([0, 1, 2, 3, 4]);
      expect(JSON.parse(rows[1]!.data)).toMatchObject({ phase: 'first' });
      expect(JSON.parse(rows[3]!.data)).toMatchObject({ msg: 'new' });
    });

    it('ignores a retried append that lies within what is stored, however it overlaps the rows written before', async () => {
      const lease = await running(store);
      const log = (seq: number, msg: string): JournalRow => row(seq, 'log', { msg });
      await store.append(lease, [1, 2, 3, 4, 5].map((seq) => log(seq, 'first')), 60_000);
      await store.append(lease, [log(3, 'inside'), log(4, 'inside')], 60_000); // within one stored write
      await store.append(lease, [log(1, 'head'), log(2, 'head')], 60_000); // its start
      await store.append(lease, [log(4, 'tail'), log(5, 'tail')], 60_000); // its end
      await store.finish(lease, [log(5, 'over'), log(6, 'over'), finishedRow(7, 'succeeded')], { status: 'succeeded' });
      const rows = (await store.get(lease.executionId))!.rows;
      expect(rows.map((stored) => stored.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      expect(rows.slice(1, 7).map((stored) => (JSON.parse(stored.data) as { msg: string }).msg)).toEqual(['first', 'first', 'first', 'first', 'first', 'over']);
    });

    it('saves an execution that ran without a lease once, and never over a stored one', async () => {
      const saved = savedExecution({ flow: unique('save'), tenant: 't-save', parentId: 'p-1', correlationKey: 'k', startedAt: 1_700_000_000_000, summary: { status: 'failed', errorCode: 'FLOWD_ERR_TIMEOUT', recovered: true } });
      await store.save(saved);
      const stored = await store.get(saved.executionId, { withState: true });
      expect(stored?.summary).toMatchObject({ status: 'failed', tenant: 't-save', parentId: 'p-1', correlationKey: 'k', startedAt: 1_700_000_000_000, errorCode: 'FLOWD_ERR_TIMEOUT', recovered: true });
      expect(stored?.summary.finishedAt).toBeGreaterThan(1_700_000_000_000);
      expect(stored?.rows).toEqual(saved.rows);
      expect(stored?.options).toEqual({});
      // A retried save changes nothing; a save over a leased execution neither.
      await store.save({ ...saved, summary: { status: 'succeeded' }, rows: [startedRow(saved.executionId, 'other')] });
      expect(await store.get(saved.executionId, { withState: true })).toEqual(stored);
      const lease = await running(store);
      await store.save(savedExecution({ executionId: lease.executionId, summary: { status: 'failed' } }));
      const leased = await store.get(lease.executionId);
      expect(leased?.summary.status).toBe('running');
      expect(leased?.rows).toHaveLength(1);
      await store.append(lease, [row(1, 'log')], 60_000);
    });
  });

  describe('fencing', () => {
    it('refuses the appends and the final write of a worker whose lease was taken over, writing none of their rows', async () => {
      const flow = unique('fence');
      const old = await running(store, { flow, leaseMs: 150 });
      await store.append(old, [row(1, 'run_started', { run: 1 })], 150);
      await letTimePass(store, 150);
      const [claimed] = await store.claim({ owner: 'new', flows: [{ name: flow, hash: 'h1' }], limit: 1, leaseMs: 60_000 });
      const current = claimed!.lease;
      expect(current).toEqual({ executionId: old.executionId, owner: 'new', epoch: 2 });

      // The old owner wakes up late: its rows, its end and its heartbeat are all refused.
      await expect(store.append(old, [row(2, 'log', { msg: 'late' })], 60_000)).rejects.toBeInstanceOf(LeaseLostError);
      await expect(store.finish(old, [row(2, 'execution_finished', { status: 'failed' })], { status: 'failed' })).rejects.toBeInstanceOf(LeaseLostError);
      expect(await store.heartbeat('owner-a', [old], 60_000)).toEqual({ lost: [old.executionId], cancelRequested: [] });
      const afterRefusals = await store.get(old.executionId);
      expect(typesOf(afterRefusals!.rows)).toEqual(['execution_started', 'run_started']);
      expect(afterRefusals?.summary.status).toBe('running');

      await store.append(current, [row(2, 'run_started', { run: 2 })], 60_000);
      await store.finish(current, [finishedRow(3, 'succeeded', 'new')], { status: 'succeeded' });
      const final = await store.get(old.executionId);
      expect(final?.summary.status).toBe('succeeded');
      expect(JSON.parse(final!.rows[2]!.data)).toMatchObject({ run: 2 });
      // Ended: a write at the current epoch is refused too.
      await expect(store.append(current, [row(4, 'log')], 60_000)).rejects.toBeInstanceOf(LeaseLostError);
      await expect(store.finish(current, [], { status: 'failed' })).rejects.toBeInstanceOf(LeaseLostError);
    });

    it('commits concurrent writes of other executions even when one of them is refused', async () => {
      const stale = await running(store, { leaseMs: 60_000 });
      const leases = await Promise.all([running(store), running(store), running(store)]);
      const wrong: Lease = { ...stale, epoch: stale.epoch + 7 };
      const statsBefore = store instanceof PostgresExecutionStore ? store.writeStats() : undefined;
      const outcomes = await Promise.allSettled([
        store.append(leases[0], [row(1, 'log', { msg: 'a' })], 60_000),
        store.append(wrong, [row(1, 'log', { msg: 'stale' })], 60_000),
        store.finish(leases[1], [finishedRow(1, 'succeeded')], { status: 'succeeded' }),
        store.finish(leases[2], [finishedRow(1, 'failed')], { status: 'failed', errorCode: 'FLOWD_ERR_COMPONENT' }, { clearState: true }),
      ]);
      expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
      expect((outcomes[1] as PromiseRejectedResult).reason).toBeInstanceOf(LeaseLostError);
      if (statsBefore !== undefined) {
        // All four went to PostgreSQL as one statement.
        const after = (store as PostgresExecutionStore).writeStats();
        expect(after.batches - statsBefore.batches).toBe(1);
        expect(after.operations - statsBefore.operations).toBe(4);
      }
      expect((await store.get(stale.executionId))?.rows).toHaveLength(1);
      expect((await store.get(leases[0].executionId))?.rows).toHaveLength(2);
      expect((await store.get(leases[1].executionId))?.summary.status).toBe('succeeded');
      expect((await store.get(leases[2].executionId))?.summary).toMatchObject({ status: 'failed', errorCode: 'FLOWD_ERR_COMPONENT' });
    });
  });

  describe('lists', () => {
    it('lists summaries newest first, filtered by flow, status and tenant, page by page', async () => {
      const flow = unique('lister');
      const ids: string[] = [];
      for (let i = 0; i < 5; i += 1) {
        const execution = newExecution({ flow, tenant: i % 2 === 0 ? 'even' : 'odd' });
        ids.push(execution.executionId);
        await store.create(execution);
      }
      await store.save(savedExecution({ flow, tenant: 'even', summary: { status: 'failed' } }));
      const pages: string[][] = [];
      let cursor: string | undefined;
      do {
        const page = await store.list({ flow, status: 'queued', limit: 2, cursor });
        pages.push(page.items.map((item) => item.executionId));
        cursor = page.nextCursor;
      } while (cursor !== undefined);
      expect(pages.map((page) => page.length)).toEqual([2, 2, 1]);
      expect(pages.flat()).toEqual([...ids].reverse());
      expect((await store.list({ flow, limit: 10 })).items).toHaveLength(6);
      expect((await store.list({ flow, status: 'failed', limit: 10 })).items.map((item) => item.tenant)).toEqual(['even']);
      const even = await store.list({ flow, tenant: 'even', limit: 10 });
      expect(even.items.map((item) => item.tenant)).toEqual(['even', 'even', 'even', 'even']);
      expect((await store.list({ flow, tenant: 'odd', status: 'queued', limit: 1 })).items[0]).toMatchObject({ executionId: ids[3], flow, status: 'queued', tenant: 'odd' });
      expect((await store.list({ flow, limit: 10, cursor: ids[1] })).items.map((item) => item.executionId)).toEqual([ids[0]]);
      expect((await store.list({ tenant: unique('nobody'), limit: 10 })).items).toEqual([]);
    });
  });

  describe('work queue', () => {
    it('claims queued work for the definitions it has only, with a new epoch and attempt each time', async () => {
      const flow = unique('batch');
      for (let i = 0; i < 3; i += 1) await store.create(newExecution({ flow, flowHash: 'b1', options: { callbackUrl: 'http://cb' } }));
      await store.create(newExecution({ flow, flowHash: 'other-definition' }));
      expect(await store.countQueued()).toBeGreaterThanOrEqual(4);
      const first = await store.claim({ owner: 'w1', flows: [{ name: flow, hash: 'b1' }], limit: 2, leaseMs: 60_000 });
      expect(first).toHaveLength(2);
      for (const claimed of first) {
        expect(claimed).toMatchObject({ attempts: 1, cancelRequested: false, options: { callbackUrl: 'http://cb' } });
        expect(claimed.lease).toMatchObject({ owner: 'w1', epoch: 1 });
        expect(claimed.summary).toMatchObject({ flow, flowHash: 'b1', status: 'running' });
        expect(claimed.rows).toEqual([startedRow(claimed.lease.executionId)]);
      }
      const second = await store.claim({ owner: 'w2', flows: [{ name: flow, hash: 'b1' }], limit: 5, leaseMs: 60_000 });
      expect(second).toHaveLength(1);
      expect(new Set([...first, ...second].map((claimed) => claimed.lease.executionId)).size).toBe(3);
      expect(await store.claim({ owner: 'w3', flows: [{ name: flow, hash: 'b1' }], limit: 5, leaseMs: 60_000 })).toEqual([]);
      expect(await store.claim({ owner: 'w3', flows: [], limit: 5, leaseMs: 60_000 })).toEqual([]);
      expect(await store.pendingElsewhere([{ name: flow, hash: 'b1' }])).toContainEqual({ flow, flowHash: 'other-definition', count: 1 });
      expect((await store.pendingElsewhere([{ name: flow, hash: 'other-definition' }])).find((pending) => pending.flow === flow)).toBeUndefined();
      expect((await store.get(first[0]!.lease.executionId))?.summary.status).toBe('running');
    });

    it('hands the whole journal, raw values included, to the worker that takes an expired lease over', async () => {
      const flow = unique('resume');
      const lease = await running(store, { flow, leaseMs: 150 });
      await store.append(lease, [row(1, 'run_started', { run: 1 }), row(2, 'phase_started', { key: 'one' }), row(3, 'phase_ended', { ref: 2 }, { output: { a: 1 }, compensable: { request: { m: 'POST' } } })], 150);
      expect(await store.claim({ owner: 'w2', flows: [{ name: flow, hash: 'h1' }], limit: 1, leaseMs: 60_000 })).toEqual([]);
      await letTimePass(store, 150);
      const [claimed] = await store.claim({ owner: 'w2', flows: [{ name: flow, hash: 'h1' }], limit: 5, leaseMs: 60_000 });
      expect(claimed?.lease).toEqual({ executionId: lease.executionId, owner: 'w2', epoch: 2 });
      expect(claimed?.attempts).toBe(2);
      expect(typesOf(claimed!.rows)).toEqual(['execution_started', 'run_started', 'phase_started', 'phase_ended']);
      expect(JSON.parse(claimed!.rows[3]!.state!)).toEqual({ output: { a: 1 }, compensable: { request: { m: 'POST' } } });
      expect(JSON.parse(claimed!.rows[0]!.state!)).toEqual({ input: { n: 1 } });
    });

    it("is fair between tenants: each tenant's oldest claimable execution comes before any tenant's second", async () => {
      const flow = unique('fair');
      const ids: Record<string, string[]> = { big: [], mid: [], small: [] };
      const create = async (tenant: string): Promise<void> => {
        const execution = newExecution({ flow, tenant });
        ids[tenant]!.push(execution.executionId);
        await store.create(execution);
      };
      // The big tenant queued first and most.
      for (let i = 0; i < 4; i += 1) await create('big');
      await create('mid');
      await create('mid');
      await create('small');
      const claim = (limit: number) => store.claim({ owner: 'w', flows: [{ name: flow, hash: 'h1' }], limit, leaseMs: 60_000 });
      const first = await claim(3);
      expect(first.map((claimed) => claimed.lease.executionId).sort()).toEqual([ids['big']![0], ids['mid']![0], ids['small']![0]].sort());
      const second = await claim(2);
      expect(second.map((claimed) => claimed.lease.executionId).sort()).toEqual([ids['big']![1], ids['mid']![1]].sort());
      expect((await claim(5)).map((claimed) => claimed.lease.executionId)).toEqual([ids['big']![2], ids['big']![3]]);
    });

    it('renews held leases, reports lost ones and cancellation requests, and releases leases at once', async () => {
      const flow = unique('beat');
      const lease = await running(store, { flow, leaseMs: 300 });
      expect(await store.heartbeat('owner-a', [lease], 60_000)).toEqual({ lost: [], cancelRequested: [] });
      // Renewed for 60 s: nobody can take it over now.
      await letTimePass(store, 300);
      expect(await store.claim({ owner: 'x', flows: [{ name: flow, hash: 'h1' }], limit: 1, leaseMs: 60_000 })).toEqual([]);
      expect(await store.heartbeat('someone-else', [lease], 60_000)).toEqual({ lost: [lease.executionId], cancelRequested: [] });
      expect(await store.cancel(lease.executionId, [row(1, 'execution_finished')], { status: 'cancelled' })).toBe('requested');
      expect((await store.get(lease.executionId))?.rows).toHaveLength(1);
      expect(await store.heartbeat('owner-a', [lease], 60_000)).toEqual({ lost: [], cancelRequested: [lease.executionId] });
      // Released (shutdown): claimable at once, by anyone.
      await store.release([lease]);
      const [taken] = await store.claim({ owner: 'x', flows: [{ name: flow, hash: 'h1' }], limit: 1, leaseMs: 60_000 });
      expect(taken?.lease.epoch).toBe(2);
      expect(taken?.attempts).toBe(2);
      expect(taken?.cancelRequested).toBe(true);
      // A release at an old epoch does nothing.
      await store.release([lease]);
      expect(await store.claim({ owner: 'y', flows: [{ name: flow, hash: 'h1' }], limit: 1, leaseMs: 60_000 })).toEqual([]);
    });

    it('renews the lease on append once less than half of it is left', async () => {
      const flow = unique('renew');
      const lease = await running(store, { flow, leaseMs: 1000 });
      await letTimePass(store, 550);
      await store.append(lease, [row(1, 'log')], 1000);
      // The lease taken at create has expired by now; the renewed one has not.
      await letTimePass(store, 500);
      expect(await store.claim({ owner: 'x', flows: [{ name: flow, hash: 'h1' }], limit: 1, leaseMs: 60_000 })).toEqual([]);
      expect(await store.heartbeat('owner-a', [lease], 60_000)).toEqual({ lost: [], cancelRequested: [] });
    });

    it('cancels a queued execution at once with its last rows, and counts the queue per tenant', async () => {
      const flow = unique('cancel');
      const tenant = unique('tenant');
      const queued = newExecution({ flow, tenant });
      await store.create(queued);
      await store.create(newExecution({ flow, tenant }));
      expect(await store.countQueued(tenant)).toBe(2);
      const before = await store.countQueued();
      expect(await store.cancel(queued.executionId, [row(1, 'execution_finished', { status: 'cancelled' })], { status: 'cancelled', errorCode: 'FLOWD_ERR_CANCELLED' })).toBe('cancelled');
      expect(await store.countQueued(tenant)).toBe(1);
      expect(await store.countQueued()).toBe(before - 1);
      const stored = await store.get(queued.executionId);
      expect(stored?.summary).toMatchObject({ status: 'cancelled', errorCode: 'FLOWD_ERR_CANCELLED' });
      expect(stored?.summary.finishedAt).toBeDefined();
      expect(typesOf(stored!.rows)).toEqual(['execution_started', 'execution_finished']);
      const claimed = await store.claim({ owner: 'w', flows: [{ name: flow, hash: 'h1' }], limit: 5, leaseMs: 1000 });
      expect(claimed.map((one) => one.lease.executionId)).not.toContain(queued.executionId);
      expect(await store.cancel(queued.executionId, [], { status: 'cancelled' })).toBe('terminal');
      expect(await store.cancel(newExecutionId(), [], { status: 'cancelled' })).toBe('not_found');
    });
  });
});
