/** The fault upstream helper does what its documentation says (other tests rely on it). */
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { failTimes, ok, startFaultUpstream, type FaultUpstream } from './fault-upstream.js';

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

const get = async (path: string, init: { method?: 'GET' | 'POST'; body?: string; headers?: Record<string, string>; signal?: AbortSignal } = {}) => {
  const response = await request(upstream.url + path, { method: init.method ?? 'GET', body: init.body, headers: init.headers, signal: init.signal });
  return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
};

describe('startFaultUpstream', () => {
  it('listens on 127.0.0.1 on a port of its own', () => {
    expect(upstream.url).toBe(`http://127.0.0.1:${upstream.port}`);
    expect(upstream.port).toBeGreaterThan(0);
  });

  it('plays a script step by step, the last step repeating, and logs each call with its headers and body', async () => {
    upstream.script('POST /pay', failTimes(2, { status: 503, retryAfter: 3 }), ok({ paid: true }, 201));

    const answers = [];
    for (let i = 0; i < 4; i += 1) answers.push(await get('/pay?x=1', { method: 'POST', body: '{"amount":5}', headers: { 'content-type': 'application/json', 'idempotency-key': `k-${i}` } }));

    expect(answers.map((a) => a.status)).toEqual([503, 503, 201, 201]);
    expect(answers[0]?.headers['retry-after']).toBe('3');
    expect(JSON.parse(answers[2]!.text)).toEqual({ paid: true });
    const calls = upstream.calls('POST /pay');
    expect(calls.map((c) => [c.n, c.path, c.url, c.outcome])).toEqual([
      [1, '/pay', '/pay?x=1', 'answered'],
      [2, '/pay', '/pay?x=1', 'answered'],
      [3, '/pay', '/pay?x=1', 'answered'],
      [4, '/pay', '/pay?x=1', 'answered'],
    ]);
    expect(calls[1]?.headers['idempotency-key']).toBe('k-1');
    expect(calls[0]?.body).toEqual({ amount: 5 });
  });

  it('matches exact routes before prefix routes, any method for a bare path, and answers 404 when unscripted', async () => {
    upstream.script('/items/*', ok('prefix'));
    upstream.script('GET /items/special', ok('exact'));

    expect((await get('/items/1')).text).toBe('prefix');
    expect((await get('/items/special')).text).toBe('exact');
    expect((await get('/items/special', { method: 'POST' })).text).toBe('prefix');
    const unscripted = await get('/nowhere');
    expect(unscripted.status).toBe(404);
    expect(upstream.calls().at(-1)?.route).toBe('(unscripted)');
  });

  it('computes a body from the call', async () => {
    upstream.script('POST /echo', { body: (call) => ({ got: call.body, n: call.n }) });
    expect(JSON.parse((await get('/echo', { method: 'POST', body: '{"a":1}' })).text)).toEqual({ got: { a: 1 }, n: 1 });
  });

  it('hangs until the client gives up, and sees the abort', async () => {
    upstream.script('GET /hang', { hang: true });
    const controller = new AbortController();
    const pending = get('/hang', { signal: controller.signal }).catch((error: unknown) => error);
    await upstream.waitForCalls('GET /hang', 1);
    expect(upstream.inFlight('GET /hang')).toBe(1);

    controller.abort();
    await pending;
    const aborted = await upstream.waitForAbort('GET /hang');

    expect(aborted.outcome).toBe('aborted');
    expect(upstream.inFlight()).toBe(0);
  });

  it('resets the connection', async () => {
    upstream.script('GET /reset', { reset: true });
    await expect(get('/reset')).rejects.toThrow();
    expect(upstream.calls('GET /reset')[0]?.outcome).toBe('reset');
  });

  it('drips a body slowly and delays an answer', async () => {
    upstream.script('GET /drip', { body: { text: 'abcdefghijklmnop' }, drip: { chunks: 4, intervalMs: 40 } });
    upstream.script('GET /late', { delayMs: 80, body: 'late' });

    const started = performance.now();
    const dripped = await get('/drip');
    const dripMs = performance.now() - started;
    const late = await get('/late');

    expect(JSON.parse(dripped.text)).toEqual({ text: 'abcdefghijklmnop' });
    expect(dripMs).toBeGreaterThanOrEqual(4 * 40 - 5);
    expect(late.text).toBe('late');
    const call = upstream.calls('GET /late')[0]!;
    expect(call.endedAt! - call.receivedAt).toBeGreaterThanOrEqual(75);
  });

  it('measures the most calls in flight at once', async () => {
    upstream.script('GET /slow', { delayMs: 150, body: 'x' });
    await Promise.all([get('/slow'), get('/slow'), get('/slow')]);
    expect(upstream.maxConcurrency('GET /slow')).toBe(3);
    expect(upstream.maxConcurrency()).toBe(3);
  });
});
