/**
 * Retry policy, proven against a real upstream: which failures are retried and how often,
 * Retry-After, backoff growth (computed delays observed through the middleware API with an
 * injected random source, and the gaps the upstream saw), budget_ms (injected clock), and
 * what each phase record reports.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ComponentAdapter } from '../../../src/adapters/types.js';
import { DEFAULT_RETRY, runWithRetry } from '../../../src/engine/policies.js';
import {
  ComponentError,
  EgressDeniedError,
  ExpressionError,
  FlowdError,
  InputValidationError,
  TimeoutError,
} from '../../../src/errors.js';
import { failTimes, ok, startFaultUpstream, type FaultUpstream } from '../../helpers/fault-upstream.js';
import { callFlow, engineWith, phase, retrySpy } from './helpers.js';
import { z } from 'zod';

let upstream: FaultUpstream;
beforeAll(async () => {
  upstream = await startFaultUpstream();
});
afterAll(async () => {
  await upstream.close();
});
beforeEach(() => {
  upstream.reset();
});

describe('which failures are retried', () => {
  it('fails twice with 503 then succeeds: three attempts, one idempotency key, the phase reports 3 attempts', async () => {
    upstream.script('POST /charges', failTimes(2, { status: 503 }), ok({ id: 'ch-1' }, 201));
    const engine = await engineWith([callFlow(upstream, { method: 'POST', path: '/charges' })]);

    const record = await engine.execute('call', {});

    expect(record.status).toBe('succeeded');
    expect(record.output).toEqual({ id: 'ch-1' });
    expect(phase(record, 'call').attempts).toBe(3);
    const calls = upstream.calls('POST /charges');
    expect(calls).toHaveLength(3);
    const keys = new Set(calls.map((c) => c.headers['idempotency-key']));
    expect(keys.size).toBe(1);
    expect([...keys][0]).toBe(`${record.executionId}:call`);
  });

  it('makes at most 3 attempts by default, then fails with the upstream status', async () => {
    upstream.script('GET /thing', { status: 503 });
    const engine = await engineWith([callFlow(upstream)]);

    const record = await engine.execute('call', {});

    expect(DEFAULT_RETRY.maxAttempts).toBe(3);
    expect(upstream.count('GET /thing')).toBe(3);
    expect(record.status).toBe('failed');
    expect(record.error).toMatchObject({ code: 'FLOWD_ERR_COMPONENT_FAILED', phase: 'call', attempts: 3, status: 503 });
    expect(phase(record, 'call')).toMatchObject({ status: 'failed', attempts: 3 });
  });

  it.each([500, 502, 503, 504, 408, 429])('retries a %i answer', async (status) => {
    upstream.script('GET /thing', { status });
    const engine = await engineWith([callFlow(upstream)]);

    const record = await engine.execute('call', {});

    expect(upstream.count('GET /thing')).toBe(3);
    expect(record.error).toMatchObject({ code: 'FLOWD_ERR_COMPONENT_FAILED', status, attempts: 3 });
  });

  it.each([400, 401, 403, 404, 409, 422])('never retries a %i answer', async (status) => {
    upstream.script('GET /thing', { status, body: { problem: 'yours' } });
    const engine = await engineWith([callFlow(upstream)]);

    const record = await engine.execute('call', {});

    expect(upstream.count('GET /thing')).toBe(1);
    expect(record.error).toMatchObject({ code: 'FLOWD_ERR_COMPONENT_FAILED', status, attempts: 1, recoverable: false });
  });

  it('retries a connection reset (network error)', async () => {
    upstream.script('GET /thing', { reset: true }, { reset: true }, ok({ fine: true }));
    const engine = await engineWith([callFlow(upstream)]);

    const record = await engine.execute('call', {});

    expect(record.status).toBe('succeeded');
    expect(upstream.calls('GET /thing').map((c) => c.outcome)).toEqual(['reset', 'reset', 'answered']);
    expect(phase(record, 'call').attempts).toBe(3);
  });

  it('retries an attempt that timed out (hanging upstream, per-attempt timeout from the component)', async () => {
    upstream.script('GET /thing', { hang: true }, { hang: true }, ok({ late: false }));
    const engine = await engineWith([callFlow(upstream, { component: { timeout_ms: 150 } })]);

    const record = await engine.execute('call', {});

    expect(record.status).toBe('succeeded');
    expect(upstream.calls('GET /thing').map((c) => c.outcome)).toEqual(['aborted', 'aborted', 'answered']);
  });

  it('gives up after the attempts time out with FLOWD_ERR_PHASE_TIMEOUT', async () => {
    upstream.script('GET /thing', { hang: true });
    const engine = await engineWith([callFlow(upstream, { component: { timeout_ms: 100 } })]);

    const record = await engine.execute('call', {});

    expect(record.status).toBe('failed');
    expect(record.error).toMatchObject({ code: 'FLOWD_ERR_PHASE_TIMEOUT', phase: 'call', attempts: 3 });
    expect(record.error?.message).toContain('timed out after 100 ms');
  });

  it('does not call the upstream again when the output expression fails after a good answer', async () => {
    upstream.script('GET /thing', ok({ nested: 1 }));
    const engine = await engineWith([callFlow(upstream, { phase: { output: "{% $error('bad mapping') %}" } })]);

    const record = await engine.execute('call', {});

    expect(record.status).toBe('failed');
    expect(record.error?.code).toBe('FLOWD_ERR_EXPRESSION_FAILED');
    expect(upstream.count()).toBe(1);
  });

  it('does not call the upstream at all when the request expression yields nothing', async () => {
    upstream.script('GET /thing', ok());
    const engine = await engineWith([callFlow(upstream, { path: '{% input.missing %}' })]);

    const record = await engine.execute('call', {});

    expect(record.error?.code).toBe('FLOWD_ERR_EXPRESSION_FAILED');
    expect(record.error?.recoverable).toBe(false);
    expect(upstream.count()).toBe(0);
  });

  it('never retries a request the http adapter rejects (validation)', async () => {
    upstream.script('/thing', ok());
    const engine = await engineWith([callFlow(upstream, { method: 'BREW' })]);

    const record = await engine.execute('call', {});

    expect(record.error).toMatchObject({ code: 'FLOWD_ERR_COMPONENT_FAILED', attempts: 1, recoverable: false });
    expect(upstream.count()).toBe(0);
  });

  it.each([
    ['expression', () => new ExpressionError('adapter found an expression problem')],
    ['input validation', () => new InputValidationError('bad input', [{ path: 'input.x', message: 'required' }])],
    ['egress', () => new EgressDeniedError('not allowed')],
    ['4xx component', () => new ComponentError('nope', { kind: 'status', upstreamStatus: 404 })],
    ['protocol', () => new ComponentError('garbled', { kind: 'protocol' })],
  ])('never retries a %s error thrown by an adapter', async (_name, makeError) => {
    let calls = 0;
    const failing: ComponentAdapter<Record<string, never>> = {
      kind: 'failing',
      configSchema: z.strictObject({}),
      create: () => ({
        execute: () => {
          calls += 1;
          return Promise.reject(makeError());
        },
      }),
    };
    const engine = await engineWith(
      [{ name: 'f', components: { c: { adapter: 'failing' } }, phases: [{ id: 'p', component: 'c' }] }],
      { adapters: [failing as ComponentAdapter<never>] },
    );

    const record = await engine.execute('f', {});

    expect(record.status).toBe('failed');
    expect(calls).toBe(1);
    expect(record.error?.code).toBe(makeError().code);
  });
});

describe('retry_policy settings', () => {
  it('max_attempts raises or lowers the number of attempts', async () => {
    upstream.script('GET /thing', { status: 503 });
    const five = await engineWith([callFlow(upstream, { phase: { retry_policy: { max_attempts: 5 } } })]);
    await five.execute('call', {});
    expect(upstream.count()).toBe(5);

    upstream.reset();
    upstream.script('GET /thing', { status: 503 });
    const one = await engineWith([callFlow(upstream, { name: 'one', phase: { retry_policy: { max_attempts: 1 } } })]);
    const record = await one.execute('one', {});
    expect(upstream.count()).toBe(1);
    expect(phase(record, 'call').attempts).toBe(1);
  });

  it('retry_on narrows what is retried: ["network"] stops retrying 503s', async () => {
    upstream.script('GET /thing', { status: 503 });
    const engine = await engineWith([callFlow(upstream, { phase: { retry_policy: { retry_on: ['network'] } } })]);

    await engine.execute('call', {});

    expect(upstream.count()).toBe(1);
  });

  it('retry_on narrows what is retried: ["5xx"] stops retrying connection resets but retries 503', async () => {
    upstream.script('GET /reset', { reset: true });
    upstream.script('GET /busy', { status: 503 });
    const engine = await engineWith([
      callFlow(upstream, { name: 'reset', path: '/reset', phase: { retry_policy: { retry_on: ['5xx'] } } }),
      callFlow(upstream, { name: 'busy', path: '/busy', phase: { retry_policy: { retry_on: ['5xx'] } } }),
    ]);

    await engine.execute('reset', {});
    await engine.execute('busy', {});

    expect(upstream.count('GET /reset')).toBe(1);
    expect(upstream.count('GET /busy')).toBe(3);
  });

  it('retry_on ["timeout"] retries timeouts only, not 429', async () => {
    upstream.script('GET /slow', { hang: true });
    upstream.script('GET /limited', { status: 429 });
    const policy = { retry_policy: { retry_on: ['timeout'] } };
    const engine = await engineWith([
      callFlow(upstream, { name: 'slow', path: '/slow', phase: policy, component: { timeout_ms: 80 } }),
      callFlow(upstream, { name: 'limited', path: '/limited', phase: policy }),
    ]);

    await engine.execute('slow', {});
    await engine.execute('limited', {});

    expect(upstream.count('GET /slow')).toBe(3);
    expect(upstream.count('GET /limited')).toBe(1);
  });

  it('layers policies: built-in < flow defaults < component < phase, field by field', async () => {
    upstream.script('GET /a', { status: 503 });
    upstream.script('GET /b', { status: 503 });
    upstream.script('GET /c', { status: 503 });
    const engine = await engineWith([
      {
        name: 'layers',
        defaults: { retry_policy: { max_attempts: 2 } },
        components: {
          plain: { adapter: 'http', base_url: upstream.url },
          tuned: { adapter: 'http', base_url: upstream.url, retry_policy: { max_attempts: 4 } },
        },
        phases: [
          { id: 'a', component: 'plain', request: { path: '/a' }, on_error: { fallback: 'a' } },
          { id: 'b', component: 'tuned', request: { path: '/b' }, on_error: { fallback: 'b' } },
          { id: 'c', component: 'tuned', request: { path: '/c' }, retry_policy: { max_attempts: 1 }, on_error: { fallback: 'c' } },
        ],
      },
    ]);

    const record = await engine.execute('layers', {});

    expect(record.status).toBe('succeeded');
    expect([upstream.count('GET /a'), upstream.count('GET /b'), upstream.count('GET /c')]).toEqual([2, 4, 1]);
  });
});

describe('one retry policy for all the calls of a phase (built once, state per call)', () => {
  it('parallel phases on the built-in policy each report their own retries and attempts', async () => {
    upstream.script('GET /a', failTimes(1, { status: 503 }), ok({ a: 1 }));
    upstream.script('GET /b', failTimes(2, { status: 503 }), ok({ b: 1 }));
    const spy = retrySpy();
    const engine = await engineWith(
      [
        {
          name: 'fan',
          components: { api: { adapter: 'http', base_url: upstream.url } },
          phases: [
            {
              id: 'fan',
              parallel: {
                left: [{ id: 'a', component: 'api', request: { path: '/a' }, output: '{% result.body %}' }],
                right: [{ id: 'b', component: 'api', request: { path: '/b' }, output: '{% result.body %}' }],
              },
            },
          ],
        },
      ],
      { middleware: [spy] },
    );

    const first = await engine.execute('fan', {});
    upstream.reset();
    upstream.script('GET /a', ok({ a: 2 }));
    upstream.script('GET /b', failTimes(1, { status: 503 }), ok({ b: 2 }));
    const second = await engine.execute('fan', {});

    expect(first.status).toBe('succeeded');
    expect([phase(first, 'a').attempts, phase(first, 'b').attempts]).toEqual([2, 3]);
    expect([phase(second, 'a').attempts, phase(second, 'b').attempts]).toEqual([1, 2]);
    const byPhase = (id: string) => spy.events.filter((e) => e.phase === id).map((e) => e.attempt);
    expect(byPhase('a')).toEqual([1]);
    expect(byPhase('b')).toEqual([1, 2, 1]);
    expect(spy.events.every((e) => e.code === 'FLOWD_ERR_COMPONENT_FAILED')).toBe(true);
  });
});

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
      const running = runWithRetry(settings, attempt, { signal: new AbortController().signal, random: () => 1, now: () => Date.now() });
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

  it('rejects at once with the abort reason when the signal aborts during a backoff', async () => {
    vi.useFakeTimers();
    try {
      const controller = new AbortController();
      let attempts = 0;
      const running = runWithRetry(
        settings,
        () => {
          attempts += 1;
          return Promise.reject(new ComponentError('down', { kind: 'network' }));
        },
        { signal: controller.signal, random: () => 1, now: () => Date.now() },
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
        { signal: new AbortController().signal, random: () => 0.5, now: () => Date.now(), onRetry: (e) => void retries.a.push([e.attempt, e.delayMs]) },
      ).catch((error: unknown) => error);
      const b = runWithRetry(
        shared,
        (n) => {
          seen.b.push(n);
          return n === 1 ? down() : Promise.resolve('ok');
        },
        { signal: new AbortController().signal, random: () => 1, now: () => Date.now(), onRetry: (e) => void retries.b.push([e.attempt, e.delayMs]) },
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
          { signal: new AbortController().signal, random: () => 1, now: () => virtual },
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
      const stopped = new AbortController();
      let attemptsOfOther = 0;
      const down = (): Promise<never> => Promise.reject(new ComponentError('down', { kind: 'network' }));
      const first = runWithRetry(settings, down, { signal: stopped.signal, random: () => 1, now: () => Date.now() }).catch((error: unknown) => error);
      const other = runWithRetry(
        settings,
        () => {
          attemptsOfOther += 1;
          return down();
        },
        { signal: new AbortController().signal, random: () => 1, now: () => Date.now() },
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
