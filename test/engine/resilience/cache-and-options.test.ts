/**
 * Phase caching (hit, miss, key expression, single-flight, TTL on the injected clock, failures
 * not cached) and the seed's per-call options: `enableCaching: false` bypasses caches,
 * `parallelExecution: false` runs parallel blocks and maps one at a time (observed as the
 * concurrency the upstream saw).
 */
import { describe, expect, it } from 'vitest';
import type { CacheEvent, Middleware } from '../../../src/engine/middleware.js';
import { type UpstreamCall } from '../../helpers/fault-upstream.js';
import { callFlow, engineWith, httpComponent, phase, useFaultUpstream } from './helpers.js';

const upstream = useFaultUpstream();

/** GET /customers/{id}, cached for `ttl` ms by customer id. */
const cached = (ttl = 60_000, extra: Record<string, unknown> = {}) =>
  callFlow(upstream, {
    path: "{% '/customers/' & input.id %}",
    phase: { cache: { ttl_ms: ttl, key: '{% input.id %}' }, retry_policy: { max_attempts: 1 }, ...extra },
  });

const echoCustomer = (call: UpstreamCall) => ({ id: call.path.split('/').pop(), n: call.n });

function cacheSpy(): Middleware & { hits: boolean[] } {
  const hits: boolean[] = [];
  return { name: 'cache-spy', hits, onCache: (event: CacheEvent) => void hits.push(event.hit) };
}

describe('phase cache', () => {
  it('misses, then hits: the second execution does not reach the upstream and its phase says cached', async () => {
    upstream.script('/customers/*', { body: echoCustomer });
    const spy = cacheSpy();
    const engine = await engineWith([cached()], { middleware: [spy] });

    const first = await engine.execute('call', { id: 'c-1' });
    const second = await engine.execute('call', { id: 'c-1' });

    expect(upstream.count()).toBe(1);
    expect(first.output).toEqual({ id: 'c-1', n: 1 });
    expect(second.output).toEqual({ id: 'c-1', n: 1 });
    expect(phase(first, 'call').cached).toBe(false);
    expect(phase(second, 'call').cached).toBe(true);
    expect(phase(second, 'call').attempts).toBe(0);
    expect(spy.hits).toEqual([false, true]);
  });

  it('keys by the key expression: another id misses, the same id with other input fields hits', async () => {
    upstream.script('/customers/*', { body: echoCustomer });
    const engine = await engineWith([cached()]);

    await engine.execute('call', { id: 'c-1', note: 'a' });
    const sameKey = await engine.execute('call', { id: 'c-1', note: 'b' });
    const otherKey = await engine.execute('call', { id: 'c-2' });

    expect(phase(sameKey, 'call').cached).toBe(true);
    expect(phase(otherKey, 'call').cached).toBe(false);
    expect(upstream.calls().map((c) => c.path)).toEqual(['/customers/c-1', '/customers/c-2']);
  });

  it('keys by the evaluated request when no key is given', async () => {
    upstream.script('/customers/*', { body: echoCustomer });
    const engine = await engineWith([
      callFlow(upstream, { path: "{% '/customers/' & input.id %}", phase: { cache: { ttl_ms: 60_000 } } }),
    ]);

    await engine.execute('call', { id: 'c-1', note: 'a' });
    await engine.execute('call', { id: 'c-1', note: 'b' });
    await engine.execute('call', { id: 'c-3' });

    expect(upstream.count()).toBe(2);
  });

  it('single-flight: 8 concurrent identical misses make one upstream call', async () => {
    upstream.script('/customers/*', { delayMs: 300, body: echoCustomer });
    const engine = await engineWith([cached()]);

    const records = await Promise.all(Array.from({ length: 8 }, () => engine.execute('call', { id: 'c-1' })));

    expect(upstream.count()).toBe(1);
    expect(records.every((r) => r.status === 'succeeded')).toBe(true);
    expect(new Set(records.map((r) => JSON.stringify(r.output))).size).toBe(1);
    expect(records.filter((r) => phase(r, 'call').cached === false)).toHaveLength(1);
  });

  it('single-flight: a caller that joined a load survives the loader being cancelled (it loads again itself)', async () => {
    upstream.script('/customers/*', { delayMs: 300, body: echoCustomer });
    const engine = await engineWith([cached()]);
    const controller = new AbortController();

    const loader = engine.execute('call', { id: 'c-1' }, { signal: controller.signal });
    await upstream.waitForCalls('/customers/*', 1);
    const joiner = engine.execute('call', { id: 'c-1' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort();
    const [stopped, survived] = await Promise.all([loader, joiner]);

    expect(stopped.status).toBe('cancelled');
    expect(survived.status).toBe('succeeded');
    expect(survived.output).toEqual({ id: 'c-1', n: 2 });
    expect(upstream.count()).toBe(2);
  });

  it('single-flight: a joined caller still stops at its own deadline, not the loader’s', async () => {
    upstream.script('/customers/*', { delayMs: 1_000, body: echoCustomer });
    const engine = await engineWith([cached()]);

    const loader = engine.execute('call', { id: 'c-1' });
    await upstream.waitForCalls('/customers/*', 1);
    const joiner = await engine.execute('call', { id: 'c-1' }, { timeoutMs: 100 });

    expect(joiner.status).toBe('timed_out');
    expect(joiner.error).toMatchObject({ code: 'FLOWD_ERR_FLOW_TIMEOUT', phase: 'call' });
    expect((await loader).status).toBe('succeeded');
    expect(upstream.count()).toBe(1);
  });

  it('expires entries after ttl_ms on the engine clock', async () => {
    upstream.script('/customers/*', { body: echoCustomer });
    let now = Date.parse('2030-01-01T00:00:00Z');
    const engine = await engineWith([cached(1_000)], { clock: { now: () => now } });

    await engine.execute('call', { id: 'c-1' });
    now += 999;
    const fresh = await engine.execute('call', { id: 'c-1' });
    now += 2;
    const expired = await engine.execute('call', { id: 'c-1' });

    expect(phase(fresh, 'call').cached).toBe(true);
    expect(phase(expired, 'call').cached).toBe(false);
    expect(expired.output).toEqual({ id: 'c-1', n: 2 });
    expect(upstream.count()).toBe(2);
  });

  it('never caches a failure: the next execution calls again, and its success is cached', async () => {
    upstream.script('/customers/*', { status: 503 }, { body: echoCustomer });
    const engine = await engineWith([cached()]);

    const failed = await engine.execute('call', { id: 'c-1' });
    const retried = await engine.execute('call', { id: 'c-1' });
    const hit = await engine.execute('call', { id: 'c-1' });

    expect(failed.status).toBe('failed');
    expect(retried.status).toBe('succeeded');
    expect(phase(hit, 'call').cached).toBe(true);
    expect(upstream.count()).toBe(2);
  });

  it('never caches a fallback output', async () => {
    upstream.script('/customers/*', { status: 503 }, { body: echoCustomer });
    const engine = await engineWith([cached(60_000, { on_error: { fallback: 'degraded' } })]);

    const degraded = await engine.execute('call', { id: 'c-1' });
    const real = await engine.execute('call', { id: 'c-1' });

    expect(degraded.output).toBe('degraded');
    expect(real.output).toEqual({ id: 'c-1', n: 2 });
  });

  it('enableCaching: false neither reads nor fills the cache', async () => {
    upstream.script('/customers/*', { body: echoCustomer });
    const engine = await engineWith([cached()]);

    await engine.execute('call', { id: 'c-1' });
    const bypass = await engine.execute('call', { id: 'c-1' }, { enableCaching: false });
    const bypassAgain = await engine.execute('call', { id: 'c-1' }, { enableCaching: false });
    const normal = await engine.execute('call', { id: 'c-1' });

    expect(upstream.count()).toBe(3);
    expect(phase(bypass, 'call').cached).toBeUndefined();
    expect(bypassAgain.output).toEqual({ id: 'c-1', n: 3 });
    // the bypassing calls did not overwrite the cached value
    expect(normal.output).toEqual({ id: 'c-1', n: 1 });
    expect(phase(normal, 'call').cached).toBe(true);
  });

  it('enableCaching: false reaches sub-flows too', async () => {
    upstream.script('/customers/*', { body: echoCustomer });
    const engine = await engineWith([cached(), { name: 'outer', phases: [{ id: 'sub', flow: 'call' }] }]);

    await engine.execute('outer', { id: 'c-1' });
    await engine.execute('outer', { id: 'c-1' }, { enableCaching: false });

    expect(upstream.count()).toBe(2);
  });
});

describe('parallelExecution', () => {
  const fanOut = () => ({
    name: 'fan',
    components: { api: httpComponent(upstream) },
    phases: [
      {
        id: 'three',
        parallel: {
          a: [{ id: 'a', component: 'api', request: { path: '/work/a' } }],
          b: [{ id: 'b', component: 'api', request: { path: '/work/b' } }],
          c: [{ id: 'c', component: 'api', request: { path: '/work/c' } }],
        },
      },
      {
        id: 'lines',
        map: {
          items: '{% input.items %}',
          concurrency: 4,
          phases: [{ id: 'line', component: 'api', request: { path: "{% '/line/' & item %}" } }],
        },
      },
    ],
  });
  const items = { items: ['1', '2', '3', '4'] };

  it('runs parallel branches and map items concurrently by default', async () => {
    upstream.script('/work/*', { delayMs: 400, body: {} });
    upstream.script('/line/*', { delayMs: 400, body: {} });
    const engine = await engineWith([fanOut()]);

    const record = await engine.execute('fan', items);

    expect(record.status).toBe('succeeded');
    expect(upstream.maxConcurrency('/work/*')).toBe(3);
    expect(upstream.maxConcurrency('/line/*')).toBe(4);
  });

  it('false runs them one at a time, in order, with the same result', async () => {
    upstream.script('/work/*', { delayMs: 30, body: { ok: true } });
    upstream.script('/line/*', { delayMs: 30, body: { ok: true } });
    const engine = await engineWith([fanOut()]);

    const record = await engine.execute('fan', items, { parallelExecution: false });

    expect(record.status).toBe('succeeded');
    expect(upstream.maxConcurrency('/work/*')).toBe(1);
    expect(upstream.maxConcurrency('/line/*')).toBe(1);
    expect(upstream.calls('/line/*').map((c) => c.path)).toEqual(['/line/1', '/line/2', '/line/3', '/line/4']);
  });
});
