/**
 * LazyConnection: the one connection a broker component shares between its calls. Opened once
 * for concurrent callers, opened again after it ended or was discarded — never forgotten because
 * an older connection ended — and a failed opening is not kept.
 */
import { describe, expect, it } from 'vitest';
import { RetryableError } from '../../../src/adapters/failures.js';
import { LazyConnection } from '../../../src/adapters/lazy-connection.js';

interface Fake {
  readonly n: number;
  ended: () => void;
  closed: boolean;
}

function fakes(failFirst = false) {
  const made: Fake[] = [];
  let calls = 0;
  const shared = new LazyConnection<Fake>(
    async (ended) => {
      calls += 1;
      await Promise.resolve();
      if (failFirst && calls === 1) throw new Error('ECONNREFUSED');
      const fake: Fake = { n: made.length + 1, ended, closed: false };
      made.push(fake);
      return fake;
    },
    (error) => new RetryableError(`wrapped: ${(error as Error).message}`),
  );
  return { shared, made, calls: () => calls };
}

describe('LazyConnection', () => {
  it('opens one connection for concurrent callers and keeps sharing it', async () => {
    const { shared, calls } = fakes();
    const [a, b] = await Promise.all([shared.get(), shared.get()]);
    expect(a).toBe(b);
    expect(await shared.get()).toBe(a);
    expect(calls()).toBe(1);
  });

  it('does not keep a failed opening: the error is the adapter’s, and the next call opens again', async () => {
    const { shared, calls } = fakes(true);
    await expect(shared.get()).rejects.toThrow('wrapped: ECONNREFUSED');
    expect((await shared.get()).n).toBe(1);
    expect(calls()).toBe(2);
  });

  it('opens a new connection after the shared one ended, and an older one ending later does not forget the newer', async () => {
    const { shared } = fakes();
    const first = await shared.get();
    first.ended();
    const second = await shared.get();
    expect(second.n).toBe(2);
    first.ended();
    expect(await shared.get()).toBe(second);
  });

  it('discard ends a stuck connection and the next call opens a new one; discarding an old one keeps the newer', async () => {
    const { shared } = fakes();
    const end = (fake: Fake): void => void (fake.closed = true);
    const first = await shared.get();
    shared.discard(first, end);
    expect(first.closed).toBe(true);
    const second = await shared.get();
    expect(second.n).toBe(2);
    shared.discard(first, end);
    expect(await shared.get()).toBe(second);
  });

  it('close hands the open connection to its end once, and the next call opens a new one', async () => {
    const { shared } = fakes();
    const first = await shared.get();
    const ended: number[] = [];
    await shared.close(async (fake) => void ended.push(fake.n));
    expect(ended).toEqual([1]);
    expect(await shared.get()).not.toBe(first);
    // Closing while nothing is open ends nothing.
    const none = new LazyConnection<Fake>(async () => ({ n: 0, ended: () => undefined, closed: false }), (error) => error as Error);
    await none.close(async () => void ended.push(-1));
    expect(ended).toEqual([1]);
  });
});
