/**
 * Circuit breaker (per component): opens after consecutive failures, fails fast while open
 * with the upstream seeing no call, half-opens after its wait with one probe, closes on a good
 * probe and reopens on a bad one; 4xx answers do not count. Bulkhead (per component): a
 * concurrency limit with a bounded queue, overflow fails fast.
 *
 * The breaker measures its wait with Date.now(): only Date is faked (sockets and timers stay
 * real), so "10 s later" takes no time.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CircuitStateEvent, Middleware } from '../../../src/engine/middleware.js';
import { Canceller, type Cancellation } from '../../../src/engine/cancellation.js';
import { buildBreaker, buildBulkhead, guardCall } from '../../../src/engine/policies.js';
import { BulkheadRejectedError, CircuitOpenError, ComponentError } from '../../../src/errors.js';
import { failTimes, ok } from '../../helpers/fault-upstream.js';
import { callFlow, engineWith, useFaultUpstream } from './helpers.js';

const upstream = useFaultUpstream();

function circuitSpy(): Middleware & { states: CircuitStateEvent['state'][] } {
  const states: CircuitStateEvent['state'][] = [];
  return { name: 'circuit-spy', states, onCircuitState: (event) => void states.push(event.state) };
}

describe('circuit breaker', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2030-01-01T00:00:00Z') });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const breakerFlow = (extra: Record<string, unknown> = {}) =>
    callFlow(upstream, {
      component: { circuit_breaker: { consecutive_failures: 3, half_open_after_ms: 10_000 }, ...extra },
      phase: { retry_policy: { max_attempts: 1 } },
    });

  it('opens after 3 consecutive failures; while open the upstream sees no call and the error is FLOWD_ERR_CIRCUIT_OPEN', async () => {
    upstream.script('GET /thing', { status: 503 });
    const spy = circuitSpy();
    const engine = await engineWith([breakerFlow()], { middleware: [spy] });

    for (let i = 0; i < 3; i += 1) expect((await engine.execute('call', {})).error?.code).toBe('FLOWD_ERR_COMPONENT_FAILED');
    expect(spy.states).toEqual(['open']);
    const open = await engine.execute('call', {});
    const stillOpen = await engine.execute('call', {});

    expect(upstream.count()).toBe(3);
    expect(open.status).toBe('failed');
    expect(open.error).toMatchObject({ code: 'FLOWD_ERR_CIRCUIT_OPEN', phase: 'call', retryAfterSeconds: 10, recoverable: true });
    expect(stillOpen.error?.code).toBe('FLOWD_ERR_CIRCUIT_OPEN');
  });

  it('an open circuit is not retried: the remaining attempts do not reach the upstream either', async () => {
    upstream.script('GET /thing', { status: 503 });
    const engine = await engineWith([
      callFlow(upstream, { component: { circuit_breaker: { consecutive_failures: 2 } }, phase: { retry_policy: { max_attempts: 5 } } }),
    ]);

    const record = await engine.execute('call', {});

    // attempt 1 and 2 fail and open the circuit; attempt 3 meets the open circuit and stops.
    expect(upstream.count()).toBe(2);
    expect(record.error).toMatchObject({ code: 'FLOWD_ERR_CIRCUIT_OPEN', attempts: 3 });
  });

  it('half-opens after half_open_after_ms: one probe goes through; a good one closes the circuit', async () => {
    upstream.script('GET /thing', failTimes(3), ok({ back: true }));
    const spy = circuitSpy();
    const engine = await engineWith([breakerFlow()], { middleware: [spy] });
    for (let i = 0; i < 3; i += 1) await engine.execute('call', {});

    vi.setSystemTime(Date.now() + 9_999);
    expect((await engine.execute('call', {})).error?.code).toBe('FLOWD_ERR_CIRCUIT_OPEN');
    expect(upstream.count()).toBe(3);

    vi.setSystemTime(Date.now() + 2);
    const probe = await engine.execute('call', {});
    expect(probe.status).toBe('succeeded');
    expect(upstream.count()).toBe(4);
    expect(spy.states).toEqual(['open', 'half_open', 'closed']);

    const after = await engine.execute('call', {});
    expect(after.status).toBe('succeeded');
    expect(upstream.count()).toBe(5);
  });

  it('a failed probe opens the circuit again for another wait', async () => {
    upstream.script('GET /thing', { status: 503 });
    const spy = circuitSpy();
    const engine = await engineWith([breakerFlow()], { middleware: [spy] });
    for (let i = 0; i < 3; i += 1) await engine.execute('call', {});

    vi.setSystemTime(Date.now() + 10_001);
    const probe = await engine.execute('call', {});
    const next = await engine.execute('call', {});

    expect(probe.error?.code).toBe('FLOWD_ERR_COMPONENT_FAILED');
    expect(next.error?.code).toBe('FLOWD_ERR_CIRCUIT_OPEN');
    expect(upstream.count()).toBe(4);
    expect(spy.states).toEqual(['open', 'half_open', 'open']);
  });

  it('4xx answers do not count as failures: the circuit never opens on them', async () => {
    upstream.script('GET /thing', { status: 404 });
    const engine = await engineWith([breakerFlow()]);

    for (let i = 0; i < 10; i += 1) {
      expect((await engine.execute('call', {})).error).toMatchObject({ code: 'FLOWD_ERR_COMPONENT_FAILED', status: 404 });
    }

    expect(upstream.count()).toBe(10);
  });

  it('counts timeouts and connection resets as failures', async () => {
    upstream.script('GET /thing', { hang: true }, { reset: true }, { hang: true }, ok());
    const engine = await engineWith([breakerFlow({ timeout_ms: 100 })]);

    for (let i = 0; i < 3; i += 1) await engine.execute('call', {});
    const record = await engine.execute('call', {});

    expect(record.error?.code).toBe('FLOWD_ERR_CIRCUIT_OPEN');
    expect(upstream.count()).toBe(3);
  });

  it('is per component: another component of the same flow keeps working', async () => {
    upstream.script('GET /bad', { status: 503 });
    upstream.script('GET /good', ok({ fine: true }));
    const engine = await engineWith([
      {
        name: 'two',
        components: {
          bad: { adapter: 'http', base_url: upstream.url, circuit_breaker: { consecutive_failures: 1 } },
          good: { adapter: 'http', base_url: upstream.url, circuit_breaker: { consecutive_failures: 1 } },
        },
        phases: [
          { id: 'g', component: 'good', request: { path: '/good' } },
          { id: 'b', component: 'bad', request: { path: '/bad' }, retry_policy: { max_attempts: 1 } },
        ],
      },
    ]);

    await engine.execute('two', {});
    const second = await engine.execute('two', {});

    expect(second.error).toMatchObject({ code: 'FLOWD_ERR_CIRCUIT_OPEN', phase: 'b' });
    expect(upstream.count('GET /good')).toBe(2);
    expect(upstream.count('GET /bad')).toBe(1);
  });
});

describe('bulkhead', () => {
  it('rejects a call beyond max_concurrent (no queue) at once with FLOWD_ERR_BULKHEAD_FULL, without calling the upstream', async () => {
    upstream.script('GET /thing', { hang: true });
    const engine = await engineWith([callFlow(upstream, { component: { bulkhead: { max_concurrent: 2 } } })]);
    const controller = new AbortController();

    const running = [engine.execute('call', {}, { signal: controller.signal }), engine.execute('call', {}, { signal: controller.signal })];
    await upstream.waitForCalls('GET /thing', 2);
    const rejected = await engine.execute('call', {});

    expect(rejected.status).toBe('failed');
    expect(rejected.error).toMatchObject({ code: 'FLOWD_ERR_BULKHEAD_FULL', phase: 'call', retryAfterSeconds: 1, recoverable: true });
    expect(rejected.error?.attempts).toBe(1);
    expect(upstream.count()).toBe(2);

    controller.abort();
    await Promise.all(running);
  });

  it('queues up to max_queue and runs the queued call when a slot frees; the next one overflows', async () => {
    upstream.script('GET /thing', { delayMs: 1_000, body: { ok: 1 } });
    const engine = await engineWith([callFlow(upstream, { component: { bulkhead: { max_concurrent: 1, max_queue: 1 } } })]);

    const first = engine.execute('call', {});
    await upstream.waitForCalls('GET /thing', 1);
    const queued = engine.execute('call', {});
    const overflow = await engine.execute('call', {});

    expect(overflow.error?.code).toBe('FLOWD_ERR_BULKHEAD_FULL');
    expect((await first).status).toBe('succeeded');
    expect((await queued).status).toBe('succeeded');
    expect(upstream.count()).toBe(2);
    expect(upstream.maxConcurrency('GET /thing')).toBe(1);
  });

  it('frees its slot when a call fails, so the next call gets through', async () => {
    upstream.script('GET /thing', { status: 500 }, ok({ fine: true }));
    const engine = await engineWith([
      callFlow(upstream, { component: { bulkhead: { max_concurrent: 1 } }, phase: { retry_policy: { max_attempts: 1 } } }),
    ]);

    expect((await engine.execute('call', {})).error?.code).toBe('FLOWD_ERR_COMPONENT_FAILED');
    expect((await engine.execute('call', {})).status).toBe('succeeded');
  });
});

describe('guardCall', () => {
  const bare = { name: 'bare', breaker: undefined, bulkhead: undefined, breakerHalfOpenAfterMs: 10_000 };

  it('calls a component with neither policy directly: the caller’s cancellation in, the call’s answer or error out unchanged', async () => {
    const cancellation = new Canceller();
    const failure = new ComponentError('down', { kind: 'status', upstreamStatus: 503 });
    const seen: Cancellation[] = [];

    const answer = await guardCall(bare, (c) => (seen.push(c), Promise.resolve('ok')), cancellation);
    const error = await guardCall(bare, (c) => (seen.push(c), Promise.reject(failure)), cancellation).catch((e: unknown) => e);

    expect(answer).toBe('ok');
    expect(error).toBe(failure);
    expect(seen).toEqual([cancellation, cancellation]);
  });

  it('translates an open circuit and a full bulkhead into flowd’s errors', async () => {
    const breaker = buildBreaker({ consecutive_failures: 1, half_open_after_ms: 5000 });
    const guarded = { ...bare, breaker };
    const failure = new ComponentError('down', { kind: 'network' });
    await guardCall(guarded, () => Promise.reject(failure), new Canceller()).catch(() => undefined);
    const open = await guardCall(guarded, () => Promise.resolve('never'), new Canceller()).catch((e: unknown) => e);

    const bulkhead = buildBulkhead(1, 0);
    const full = { ...bare, bulkhead };
    let release = (): void => {};
    const running = guardCall(full, () => new Promise<void>((resolve) => (release = resolve)), new Canceller());
    const rejected = await guardCall(full, () => Promise.resolve(), new Canceller()).catch((e: unknown) => e);
    release();
    await running;

    expect(open).toBeInstanceOf(CircuitOpenError);
    expect((open as CircuitOpenError).code).toBe('FLOWD_ERR_CIRCUIT_OPEN');
    expect(rejected).toBeInstanceOf(BulkheadRejectedError);
    expect((rejected as BulkheadRejectedError).code).toBe('FLOWD_ERR_BULKHEAD_FULL');
  });
});
