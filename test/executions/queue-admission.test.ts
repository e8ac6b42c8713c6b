/**
 * QueueAdmission's counts: a read of the store that was under way while this process finished a
 * write may not include it; the write is counted on top, so the next admission never counts fewer
 * than there are (found by a review: the read's result replaced the count, and a bound of one let
 * a second execution through).
 */
import { describe, expect, it } from 'vitest';
import { QueueAdmission } from '../../src/executions/queue-admission.js';
import type { CreateResult, ExecutionStore } from '../../src/store/execution-store.js';

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => (resolve = done));
  return { promise, resolve };
}

describe('QueueAdmission', () => {
  it('counts a write that ended while a read of the store was under way', async () => {
    let now = 0;
    const reads: { resolve: (n: number) => void }[] = [];
    const store = {
      countQueued: () => {
        const read = deferred<number>();
        reads.push(read);
        return read.promise;
      },
    } as unknown as ExecutionStore;
    const admission = new QueueAdmission({ store, max: 100, maxPerTenant: 1, now: () => now });

    // C is admitted (the first reads say 0 queued) and its write is still under way.
    const writeC = deferred<CreateResult>();
    const c = admission.queue('alice', 'api', () => writeC.promise);
    await Promise.resolve();
    for (const read of reads.splice(0)) read.resolve(0);
    await new Promise((resolve) => setImmediate(resolve));

    // Past the freshness window, B asks: new reads start, taken before C's write is visible.
    now += 200;
    const b = admission.queue('alice', 'api', async () => ({ created: true, lease: undefined }));
    b.catch(() => undefined);
    await Promise.resolve();
    expect(reads).toHaveLength(2);
    // C's write ends while the reads are under way; then they answer what they saw: 0.
    writeC.resolve({ created: true, lease: undefined });
    await c;
    for (const read of reads.splice(0)) read.resolve(0);

    // One execution (C) is queued for alice, and her bound is 1: B is refused.
    await expect(b).rejects.toMatchObject({ code: 'FLOWD_ERR_QUEUE_FULL' });
  });
});
