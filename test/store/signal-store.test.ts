/**
 * The waiting part of the ExecutionStore contract (suspend, wake, signals, callback tokens), run
 * against memory, SQLite and PostgreSQL like the rest of the contract.
 */
import { describe, expect, it } from 'vitest';
import { LeaseLostError } from '../../src/errors.js';
import type { ExecutionStore, Lease } from '../../src/store/execution-store.js';
import { BACKENDS, finishedRow, letTimePass, row, running, typesOf, unique, useTestStore } from './store-fixtures.js';

const DAY = 86_400_000;

describe.each(BACKENDS)('%s store: waits and signals', (backend) => {
  let store: ExecutionStore;
  useTestStore(backend, (opened) => {
    store = opened;
  });

  /** A running execution of its own flow (so claims see only it). */
  async function runningOf(flow: string): Promise<Lease> {
    return running(store, { flow, flowHash: 'w1' });
  }

  const claimOf = (flow: string, owner = 'owner-b') => store.claim({ owner, flows: [{ name: flow, hash: 'w1' }], limit: 5, leaseMs: 60_000 });

  /** A waiting execution; a signal wait takes `signal` (default "decision"). */
  async function suspended(flow: string, wakeInMs: number, waitingFor: 'time' | 'signal' | 'callback' = 'signal', signal = 'decision'): Promise<Lease> {
    const lease = await runningOf(flow);
    const suspension = { wakeAt: (await store.now()) + wakeInMs, waitingFor, signal: waitingFor === 'signal' ? signal : undefined };
    await store.suspend(lease, [row(1, 'run_started', { run: 1 }), row(2, 'run_suspended', { until: 1 })], suspension);
    return lease;
  }

  it('a suspended execution is waiting, keeps its rows, holds no lease, and is not claimed before it is due', async () => {
    const flow = unique('sleepy');
    const lease = await suspended(flow, DAY, 'time');
    const stored = await store.get(lease.executionId);
    expect(stored?.summary).toMatchObject({ status: 'waiting', waitingFor: 'time' });
    expect(stored!.summary.wakeAt).toBeGreaterThan(Date.now() + DAY - 60_000);
    expect(typesOf(stored!.rows)).toEqual(['execution_started', 'run_started', 'run_suspended']);
    expect(await claimOf(flow)).toEqual([]);
    await expect(store.append(lease, [row(3, 'log')], 60_000)).rejects.toBeInstanceOf(LeaseLostError);
    expect(await store.list({ flow, status: 'waiting', limit: 5 })).toMatchObject({ items: [{ executionId: lease.executionId, status: 'waiting' }] });
  });

  it('a waiting execution is claimed once it is due, with its journal, as a new run (attempts + 1, new epoch)', async () => {
    const flow = unique('due');
    const lease = await suspended(flow, 30, 'time');
    await letTimePass(store, 30);
    const [claimed, ...more] = await claimOf(flow);
    expect(more).toEqual([]);
    expect(claimed?.lease).toMatchObject({ executionId: lease.executionId, owner: 'owner-b', epoch: lease.epoch + 1 });
    // The run that suspended ended well: the claim count starts again (EXECUTION_MAX_ATTEMPTS counts runs that died).
    expect(claimed?.attempts).toBe(1);
    expect(claimed?.summary.status).toBe('running');
    expect(claimed?.summary.wakeAt).toBeUndefined();
    expect(typesOf(claimed!.rows)).toEqual(['execution_started', 'run_started', 'run_suspended']);
    expect(await claimOf(flow, 'owner-c')).toEqual([]);
    await store.finish(claimed!.lease, [finishedRow(3, 'succeeded')], { status: 'succeeded' });
    expect((await store.get(lease.executionId))?.summary.status).toBe('succeeded');
  });

  it('a signal to a waiting execution wakes it at once; the wait takes it, and takes the same one again after a crash', async () => {
    const flow = unique('approve');
    const lease = await suspended(flow, DAY);
    const delivered = await store.signals.deliver({ executionId: lease.executionId, name: 'decision', payload: '{"approved":true}' });
    expect(delivered).toMatchObject({ kind: 'delivered', status: 'waiting' });
    const [claimed] = await claimOf(flow);
    expect(claimed?.lease.executionId).toBe(lease.executionId);
    const taken = await store.signals.take(claimed!.lease, 'decision', 'approval');
    expect(taken).toMatchObject({ name: 'decision', payload: '{"approved":true}' });
    expect(await store.signals.take(claimed!.lease, 'other', 'approval')).toBeUndefined();
    // The same wait (after a crash and a new claim) gets the same signal, not nothing.
    await store.release([claimed!.lease]);
    const [again] = await claimOf(flow, 'owner-c');
    expect(await store.signals.take(again!.lease, 'decision', 'approval')).toEqual(taken);
    // Another wait for the same name does not get it.
    expect(await store.signals.take(again!.lease, 'decision', 'second-approval')).toBeUndefined();
    await expect(store.signals.take(claimed!.lease, 'decision', 'approval')).rejects.toBeInstanceOf(LeaseLostError);
  });

  it('a signal sent before the execution waits is kept; a suspension with a signal pending wakes at once', async () => {
    const flow = unique('early');
    const lease = await runningOf(flow);
    expect(await store.signals.deliver({ executionId: lease.executionId, name: 'go', payload: '1' })).toMatchObject({ kind: 'delivered', status: 'running' });
    await store.suspend(lease, [row(1, 'run_suspended')], { wakeAt: (await store.now()) + DAY, waitingFor: 'signal', signal: 'go' });
    const [claimed] = await claimOf(flow);
    expect(claimed?.lease.executionId).toBe(lease.executionId);
    expect(await store.signals.take(claimed!.lease, 'go', 'wait-go')).toMatchObject({ payload: '1' });
  });

  it('only the signal its wait takes wakes a waiting execution: one kept for a later wait does not, at delivery or at suspension', async () => {
    const flow = unique('gate');
    const lease = await suspended(flow, DAY, 'signal', 'open');
    expect(await store.signals.deliver({ executionId: lease.executionId, name: 'item', payload: '1' })).toMatchObject({ kind: 'delivered', status: 'waiting' });
    expect(await claimOf(flow)).toEqual([]);
    expect(await store.signals.deliver({ executionId: lease.executionId, name: 'open', payload: 'true' })).toMatchObject({ kind: 'delivered' });
    const [claimed] = await claimOf(flow);
    expect(claimed?.lease.executionId).toBe(lease.executionId);
    expect(await store.signals.take(claimed!.lease, 'open', 'gate')).toMatchObject({ payload: 'true' });
    // Suspended again, for "open" once more: the kept "item" does not wake it, a time wait neither.
    await store.suspend(claimed!.lease, [row(3, 'run_suspended')], { wakeAt: (await store.now()) + DAY, waitingFor: 'signal', signal: 'open' });
    expect(await claimOf(flow)).toEqual([]);
    const again = await suspended(unique('gate'), DAY, 'time');
    await store.signals.deliver({ executionId: again.executionId, name: 'item', payload: '2' });
    expect((await store.get(again.executionId))!.summary.wakeAt).toBeGreaterThan(Date.now() + DAY - 60_000);
  });

  it('signals are taken oldest first, one per wait', async () => {
    const lease = await runningOf(unique('order'));
    for (const n of [1, 2, 3]) await store.signals.deliver({ executionId: lease.executionId, name: 'item', payload: String(n) });
    const payloads = [];
    for (const key of ['a', 'b', 'c', 'd']) payloads.push((await store.signals.take(lease, 'item', key))?.payload);
    expect(payloads).toEqual(['1', '2', '3', undefined]);
  });

  it('duplicate deliveries with the same Idempotency-Key count once; ended and unknown executions are told apart', async () => {
    const lease = await runningOf(unique('dupe'));
    const first = await store.signals.deliver({ executionId: lease.executionId, name: 'pay', payload: '"a"', idempotencyKey: 'k-1' });
    const second = await store.signals.deliver({ executionId: lease.executionId, name: 'pay', payload: '"b"', idempotencyKey: 'k-1' });
    expect(first.kind).toBe('delivered');
    expect(second).toEqual({ kind: 'duplicate', signalId: (first as { signalId: string }).signalId, status: 'running' });
    expect(await store.signals.take(lease, 'pay', 'w1')).toMatchObject({ payload: '"a"' });
    expect(await store.signals.take(lease, 'pay', 'w2')).toBeUndefined();
    await store.finish(lease, [finishedRow(1, 'succeeded')], { status: 'succeeded' });
    expect(await store.signals.deliver({ executionId: lease.executionId, name: 'pay', payload: '1' })).toEqual({ kind: 'ended', status: 'succeeded' });
    expect(await store.signals.deliver({ executionId: '01900000-0000-7000-8000-000000000000', name: 'pay', payload: '1' })).toEqual({ kind: 'not_found' });
  });

  it('a delivery with maxPending is refused once that many signals wait untaken; a duplicate is still told apart', async () => {
    const lease = await runningOf(unique('bounded'));
    for (const n of [1, 2]) expect((await store.signals.deliver({ executionId: lease.executionId, name: 'tick', payload: String(n), idempotencyKey: `k${n}`, maxPending: 2 })).kind).toBe('delivered');
    expect(await store.signals.deliver({ executionId: lease.executionId, name: 'tick', payload: '3', maxPending: 2 })).toEqual({ kind: 'full', pending: 2 });
    expect((await store.signals.deliver({ executionId: lease.executionId, name: 'tick', payload: '1', idempotencyKey: 'k1', maxPending: 2 })).kind).toBe('duplicate');
    await store.signals.take(lease, 'tick', 'w1');
    expect((await store.signals.deliver({ executionId: lease.executionId, name: 'tick', payload: '3', maxPending: 2 })).kind).toBe('delivered');
  });

  it('a callback token works once, only before it expires; a new token for the same wait replaces the old one', async () => {
    const flow = unique('hook');
    const lease = await runningOf(flow);
    const now = await store.now();
    await store.signals.registerCallback(lease, { tokenHash: 'old', executionId: lease.executionId, waitKey: 'charge', signal: 'callback:charge', expiresAt: now + DAY });
    await store.signals.registerCallback(lease, { tokenHash: 'h-1', executionId: lease.executionId, waitKey: 'charge', signal: 'callback:charge', expiresAt: now + DAY });
    await store.signals.registerCallback(lease, { tokenHash: 'h-short', executionId: lease.executionId, waitKey: 'other', signal: 'callback:other', expiresAt: now + 20 });
    await store.suspend(lease, [row(1, 'run_suspended')], { wakeAt: now + DAY, waitingFor: 'callback', signal: 'callback:charge' });
    expect(await store.signals.useCallback('old', '{}')).toEqual({ kind: 'not_found' });
    expect(await store.signals.findCallback('h-1')).toEqual({ executionId: lease.executionId, waitKey: 'charge', state: 'usable' });
    expect(await store.signals.findCallback('old')).toBeUndefined();
    expect(await store.signals.useCallback('h-1', '{"status":"success"}')).toEqual({ kind: 'delivered', executionId: lease.executionId });
    expect(await store.signals.useCallback('h-1', '{"status":"success"}')).toEqual({ kind: 'used', executionId: lease.executionId });
    expect((await store.signals.findCallback('h-1'))?.state).toBe('used');
    await letTimePass(store, 20);
    expect((await store.signals.findCallback('h-short'))?.state).toBe('expired');
    expect(await store.signals.useCallback('h-short', '{}')).toEqual({ kind: 'expired', executionId: lease.executionId });
    const [claimed] = await claimOf(flow);
    expect(await store.signals.take(claimed!.lease, 'callback:charge', 'charge')).toMatchObject({ payload: '{"status":"success"}' });
    expect(await store.signals.take(claimed!.lease, 'callback:other', 'other')).toBeUndefined();
    await expect(store.signals.registerCallback(lease, { tokenHash: 'h-2', executionId: lease.executionId, waitKey: 'x', signal: 'callback:x', expiresAt: now + DAY })).rejects.toBeInstanceOf(LeaseLostError);
  });

  it('a callback to an ended execution delivers nothing', async () => {
    const lease = await runningOf(unique('late'));
    await store.signals.registerCallback(lease, { tokenHash: 'late-1', executionId: lease.executionId, waitKey: 'k', signal: 'callback:k', expiresAt: (await store.now()) + DAY });
    await store.finish(lease, [finishedRow(1, 'failed')], { status: 'failed' });
    expect(await store.signals.useCallback('late-1', '{}')).toEqual({ kind: 'ended', executionId: lease.executionId });
  });

  it('cancelling a waiting execution flags it and wakes it, so a worker ends it', async () => {
    const flow = unique('cancel');
    const lease = await suspended(flow, DAY);
    expect(await store.cancel(lease.executionId, [], { status: 'cancelled' })).toBe('requested');
    const [claimed] = await claimOf(flow);
    expect(claimed?.cancelRequested).toBe(true);
  });

  it('a signal racing a suspension is never left unseen: the execution is claimable at once either way', async () => {
    for (let round = 0; round < 5; round += 1) {
      const flow = unique('race');
      const lease = await runningOf(flow);
      const wakeAt = (await store.now()) + DAY;
      const [, delivered] = await Promise.all([
        store.suspend(lease, [row(1, 'run_suspended')], { wakeAt, waitingFor: 'signal', signal: 'go' }),
        store.signals.deliver({ executionId: lease.executionId, name: 'go', payload: String(round) }),
      ]);
      expect(delivered.kind).toBe('delivered');
      const [claimed] = await claimOf(flow);
      expect(claimed?.lease.executionId).toBe(lease.executionId);
    }
  });

  it('a purge takes an ended execution\'s callback tokens with it', async () => {
    const lease = await runningOf(unique('purged'));
    await store.signals.registerCallback(lease, { tokenHash: 'purged-1', executionId: lease.executionId, waitKey: 'k', signal: 'callback:k', expiresAt: (await store.now()) + DAY });
    await store.signals.deliver({ executionId: lease.executionId, name: 'kept', payload: '1' });
    await store.finish(lease, [finishedRow(1, 'succeeded')], { status: 'succeeded' });
    await letTimePass(store, 5);
    await store.purge(1, 1000);
    expect(await store.get(lease.executionId)).toBeUndefined();
    expect(await store.signals.useCallback('purged-1', '{}')).toEqual({ kind: 'not_found' });
  });

  it('counts waiting executions by flow and reason', async () => {
    const flow = unique('gauge');
    await suspended(flow, DAY, 'signal');
    await suspended(flow, DAY, 'signal');
    await suspended(flow, DAY, 'time');
    const counts = (await store.countWaiting()).filter((count) => count.flow === flow);
    expect(counts.sort((a, b) => a.waitingFor.localeCompare(b.waitingFor))).toEqual([
      { flow, waitingFor: 'signal', count: 2 },
      { flow, waitingFor: 'time', count: 1 },
    ]);
  });
});
