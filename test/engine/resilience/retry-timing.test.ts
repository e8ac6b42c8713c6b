/**
 * Retry timing, proven against a real upstream: Retry-After, backoff growth (computed delays
 * observed through the middleware API with an injected random source, and the gaps the upstream
 * saw), budget_ms (injected clock), and runWithRetry alone on fake timers.
 */
import { describe, expect, it, vi } from 'vitest';
import { Canceller } from '../../../src/engine/cancellation.js';
import { DEFAULT_RETRY, runWithRetry } from '../../../src/engine/policies.js';
import { ComponentError, FlowdError, TimeoutError } from '../../../src/errors.js';
import { ok } from '../../helpers/fault-upstream.js';
import { callFlow, engineWith, retrySpy, useFaultUpstream } from './helpers.js';

const upstream = useFaultUpstream();

describe('Retry-After', () => {
  it('waits as long as Retry-After asks when that is under the cap', async () => {
    upstream.script('GET /thing', { status: 503, retryAfter: 1 }, ok({ done: true }));
    const spy = retrySpy();
    const engine = await engineWith([callFlow(upstream, { phase: { retry_policy: { initial_delay_ms: 10, max_delay_ms: 5000 } } })], {
      middleware: [spy],
    });

    const record = await engine.execute('call', {});

    expect(record.status).toBe('succeeded');
    expect(spy.events).toEqual([{ attempt: 1, delayMs: 1000, code: 'FLOWD_ERR_COMPONENT_FAILED', phase: 'call' }]);
    const [first, second] = upstream.calls('GET /thing');
    expect(second!.receivedAt - first!.endedAt!).toBeGreaterThanOrEqual(990);
  });

  it('honours Retry-After on a 429 only up to max_delay_ms', async () => {
    upstream.script('GET /thing', { status: 429, retryAfter: 120 }, ok({ done: true }));
    const spy = retrySpy();
    const engine = await engineWith([callFlow(upstream, { phase: { retry_policy: { initial_delay_ms: 10, max_delay_ms: 200 } } })], {
      middleware: [spy],
    });

    const record = await engine.execute('call', {});

    expect(record.status).toBe('succeeded');
    expect(spy.events.map((e) => e.delayMs)).toEqual([200]);
  });

  it('understands Retry-After as an HTTP date', async () => {
    const inTwoSeconds = new Date(Date.now() + 2_000).toUTCString();
    upstream.script('GET /thing', { status: 503, retryAfter: inTwoSeconds }, ok());
    const spy = retrySpy();
    const engine = await engineWith([callFlow(upstream, { phase: { retry_policy: { initial_delay_ms: 0, max_delay_ms: 300 } } })], {
      middleware: [spy],
    });

    await engine.execute('call', {});

    // The date is ~2 s away: more than the cap, so the cap applies (a date parsed as 0 would give 0).
    expect(spy.events.map((e) => e.delayMs)).toEqual([300]);
  });

  it('never waits less than the backoff because of a short Retry-After', async () => {
    upstream.script('GET /thing', { status: 503, retryAfter: 0 }, ok());
    const spy = retrySpy();
    const engine = await engineWith([callFlow(upstream, { phase: { retry_policy: { initial_delay_ms: 50, jitter: 'none' } } })], {
      middleware: [spy],
    });

    await engine.execute('call', {});

    expect(spy.events.map((e) => e.delayMs)).toEqual([50]);
  });
});

describe('backoff growth', () => {
  const policy = { max_attempts: 5, initial_delay_ms: 20, backoff_factor: 3, max_delay_ms: 200 };

  it('grows by backoff_factor from initial_delay_ms and stops at max_delay_ms (full jitter at its top, random = 1)', async () => {
    upstream.script('GET /thing', { status: 503 });
    const spy = retrySpy();
    const engine = await engineWith([callFlow(upstream, { phase: { retry_policy: policy } })], { middleware: [spy], random: () => 1 });

    await engine.execute('call', {});

    expect(spy.events.map((e) => e.delayMs)).toEqual([20, 60, 180, 200]);
    expect(spy.events.map((e) => e.attempt)).toEqual([1, 2, 3, 4]);
    // The upstream saw the gaps (timers never fire early by more than a tick).
    const calls = upstream.calls('GET /thing');
    const gaps = calls.slice(1).map((call, i) => call.receivedAt - calls[i]!.endedAt!);
    [20, 60, 180, 200].forEach((delay, i) => expect(gaps[i]).toBeGreaterThanOrEqual(delay - 2));
  });

  it('full jitter scales each delay by the random source', async () => {
    upstream.script('GET /thing', { status: 503 });
    const spy = retrySpy();
    const engine = await engineWith([callFlow(upstream, { phase: { retry_policy: policy } })], { middleware: [spy], random: () => 0.5 });

    await engine.execute('call', {});

    expect(spy.events.map((e) => e.delayMs)).toEqual([10, 30, 90, 100]);
  });

  it('jitter: none ignores the random source', async () => {
    upstream.script('GET /thing', { status: 503 });
    const spy = retrySpy();
    const engine = await engineWith([callFlow(upstream, { phase: { retry_policy: { ...policy, jitter: 'none' } } })], {
      middleware: [spy],
      random: () => 0,
    });

    await engine.execute('call', {});

    expect(spy.events.map((e) => e.delayMs)).toEqual([20, 60, 180, 200]);
  });
});

describe('budget_ms', () => {
  /** A clock on which every call to the upstream costs `costMs` of virtual time. */
  const upstreamClock = (costMs: number) => {
    const start = Date.now();
    return { now: () => start + upstream.count() * costMs };
  };

  it('stops retrying once the budget is spent, whatever max_attempts says', async () => {
    upstream.script('GET /thing', { status: 503 });
    const engine = await engineWith([callFlow(upstream, { phase: { retry_policy: { max_attempts: 10, budget_ms: 1000 } } })], {
      clock: upstreamClock(400),
    });

    const record = await engine.execute('call', {});

    // t=400 and t=800 are within the budget, t=1200 is not.
    expect(upstream.count()).toBe(3);
    expect(record.error?.attempts).toBe(3);
  });

  it('a larger budget allows proportionally more attempts', async () => {
    upstream.script('GET /thing', { status: 503 });
    const engine = await engineWith([callFlow(upstream, { phase: { retry_policy: { max_attempts: 10, budget_ms: 2000 } } })], {
      clock: upstreamClock(400),
    });

    await engine.execute('call', {});

    expect(upstream.count()).toBe(5);
  });

  it('shortens a backoff delay to what is left of the budget', async () => {
    upstream.script('GET /thing', { status: 503 }, ok());
    const spy = retrySpy();
    const engine = await engineWith(
      [callFlow(upstream, { phase: { retry_policy: { initial_delay_ms: 80, jitter: 'none', budget_ms: 100 } } })],
      { clock: upstreamClock(40), middleware: [spy] },
    );

    await engine.execute('call', {});

    expect(spy.events.map((e) => e.delayMs)).toEqual([60]);
  });
});

describe('runWithRetry (the policy alone, fake timers)', () => {
  const settings = { ...DEFAULT_RETRY, maxAttempts: 4, initialDelayMs: 1000, backoffFactor: 2, maxDelayMs: 3000, jitter: 'none' as const };

  it('sleeps 1 s, 2 s, 3 s (capped) between attempts without real waiting', async () => {
    vi.useFakeTimers();
    try {
      const startedAt: number[] = [];
      const attempt = (): Promise<never> => {
        startedAt.push(Date.now());
        return Promise.reject(new ComponentError('down', { kind: 'status', upstreamStatus: 503 }));
      };
      const running = runWithRetry(settings, attempt, { cancellation: new Canceller(), random: () => 1, now: () => Date.now() });
      const settled = running.catch((error: unknown) => error);
      await vi.advanceTimersByTimeAsync(999);
      expect(startedAt).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(1);
      expect(startedAt).toHaveLength(2);
      await vi.runAllTimersAsync();
      const error = await settled;
      expect(startedAt).toHaveLength(4);
      expect(startedAt.slice(1).map((t, i) => t - startedAt[i]!)).toEqual([1000, 2000, 3000]);
      expect((error as FlowdError).code).toBe('FLOWD_ERR_COMPONENT_FAILED');
    } finally {
      vi.useRealTimers();
    }
  });

  it('rejects at once with the abort reason when the cancellation aborts during a backoff', async () => {
    vi.useFakeTimers();
    try {
      const controller = new Canceller();
      let attempts = 0;
      const running = runWithRetry(
        settings,
        () => {
          attempts += 1;
          return Promise.reject(new ComponentError('down', { kind: 'network' }));
        },
        { cancellation: controller, random: () => 1, now: () => Date.now() },
      ).catch((error: unknown) => error);
      await vi.advanceTimersByTimeAsync(10);
      controller.abort(new TimeoutError('flow', 'deadline'));
      const error = await running;
      expect((error as FlowdError).code).toBe('FLOWD_ERR_FLOW_TIMEOUT');
      await vi.runAllTimersAsync();
      expect(attempts).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('runs of the same settings at once keep their own attempts, random source and observer', async () => {
    vi.useFakeTimers();
    try {
      const shared = { ...settings, maxAttempts: 3, jitter: 'full' as const };
      const down = (): Promise<never> => Promise.reject(new ComponentError('down', { kind: 'status', upstreamStatus: 503 }));
      const seen = { a: [] as number[], b: [] as number[] };
      const retries = { a: [] as [number, number][], b: [] as [number, number][] };
      const a = runWithRetry(
        shared,
        (n) => {
          seen.a.push(n);
          return down();
        },
        { cancellation: new Canceller(), random: () => 0.5, now: () => Date.now(), onRetry: (e) => void retries.a.push([e.attempt, e.delayMs]) },
      ).catch((error: unknown) => error);
      const b = runWithRetry(
        shared,
        (n) => {
          seen.b.push(n);
          return n === 1 ? down() : Promise.resolve('ok');
        },
        { cancellation: new Canceller(), random: () => 1, now: () => Date.now(), onRetry: (e) => void retries.b.push([e.attempt, e.delayMs]) },
      );
      await vi.runAllTimersAsync();

      expect(((await a) as FlowdError).code).toBe('FLOWD_ERR_COMPONENT_FAILED');
      expect(await b).toBe('ok');
      expect(seen).toEqual({ a: [1, 2, 3], b: [1, 2] });
      expect(retries).toEqual({ a: [[1, 500], [2, 1000]], b: [[1, 1000]] });
    } finally {
      vi.useRealTimers();
    }
  });

  it('measures each run’s budget_ms from that run’s own start, on its own clock', async () => {
    vi.useFakeTimers();
    try {
      const budgeted = { ...settings, maxAttempts: 10, initialDelayMs: 100, backoffFactor: 1, budgetMs: 1000 };
      const down = new ComponentError('down', { kind: 'network' });
      /** A run whose clock moves `costMs` per attempt; resolves with the number of attempts made. */
      const runOn = (costMs: number): Promise<number> => {
        let virtual = 5000;
        let made = 0;
        return runWithRetry(
          budgeted,
          () => {
            made += 1;
            virtual += costMs;
            return Promise.reject(down);
          },
          { cancellation: new Canceller(), random: () => 1, now: () => virtual },
        ).then(
          () => made,
          () => made,
        );
      };
      const slow = runOn(600);
      const fast = runOn(0);
      await vi.runAllTimersAsync();
      const again = runOn(600);
      await vi.runAllTimersAsync();

      // 600 ms in is within the budget, 1200 ms is not; a clock that stands still never spends it.
      expect([await slow, await fast, await again]).toEqual([2, 10, 2]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('aborting one run stops that run only', async () => {
    vi.useFakeTimers();
    try {
      const stopped = new Canceller();
      let attemptsOfOther = 0;
      const down = (): Promise<never> => Promise.reject(new ComponentError('down', { kind: 'network' }));
      const first = runWithRetry(settings, down, { cancellation: stopped, random: () => 1, now: () => Date.now() }).catch((error: unknown) => error);
      const other = runWithRetry(
        settings,
        () => {
          attemptsOfOther += 1;
          return down();
        },
        { cancellation: new Canceller(), random: () => 1, now: () => Date.now() },
      ).catch((error: unknown) => error);
      await vi.advanceTimersByTimeAsync(10);
      stopped.abort(new TimeoutError('flow', 'deadline'));

      expect(((await first) as FlowdError).code).toBe('FLOWD_ERR_FLOW_TIMEOUT');
      await vi.runAllTimersAsync();
      expect(((await other) as FlowdError).code).toBe('FLOWD_ERR_COMPONENT_FAILED');
      expect(attemptsOfOther).toBe(4);
    } finally {
      vi.useRealTimers();
    }
  });
});
