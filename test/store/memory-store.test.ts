/** What only the memory store does: a bound on how many executions it keeps. */
import { describe, expect, it } from 'vitest';
import { MemoryExecutionStore } from '../../src/store/memory-store.js';
import { newExecution, running, savedExecution } from './store-fixtures.js';

describe('memory execution store', () => {
  it('keeps at most maxExecutions, evicting the oldest ended ones and never a queued or running one', async () => {
    const store = new MemoryExecutionStore({ maxExecutions: 3 });
    const lease = await running(store);
    const queued = newExecution();
    await store.create(queued);
    const saved = [savedExecution(), savedExecution(), savedExecution()];
    for (const execution of saved) await store.save(execution);
    const kept = (await store.list({ limit: 10 })).items.map((item) => item.executionId);
    expect(kept.sort()).toEqual([lease.executionId, queued.executionId, saved[2]!.executionId].sort());
  });

  it('frees the idempotency keys of evicted executions at the next purge', async () => {
    const store = new MemoryExecutionStore({ maxExecutions: 1 });
    const lease = await running(store, { idempotency: { key: 'k', fingerprint: 'f', ttlMs: 60_000 } });
    await store.finish(lease, [], { status: 'succeeded' });
    await store.save(savedExecution());
    expect(await store.get(lease.executionId)).toBeUndefined();
    expect(await store.purge(60_000, 10)).toBe(1);
    expect((await store.create(newExecution({ idempotency: { key: 'k', fingerprint: 'f', ttlMs: 60_000 } }))).created).toBe(true);
  });
});
