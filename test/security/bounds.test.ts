/**
 * Every bound holds under a burst (SECURITY rule 13): the in-flight bound on the sync, durable and
 * idempotent paths (the slot is taken before anything is awaited), and the queue bounds on the
 * async path, per tenant and in all. Nothing refused is written; nothing admitted is dropped.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { apiKeysEnv, expectProblem, json, makeKey, startService, type TestService } from './helpers.js';

const SLOW = { name: 'slow', phases: [{ id: 'wait', component: 'delay', request: { ms: 300 } }] };
const SLOW_DURABLE = { ...SLOW, name: 'slow-durable', persistence: 'all' };
const BURST = 100;

let t: TestService | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function burst(count: number, send: (i: number) => Promise<{ statusCode: number; body: string }>): Promise<Map<number, number>> {
  const responses = await Promise.all(Array.from({ length: count }, (_, i) => send(i)));
  const byStatus = new Map<number, number>();
  for (const response of responses) byStatus.set(response.statusCode, (byStatus.get(response.statusCode) ?? 0) + 1);
  return byStatus;
}

describe('MAX_INFLIGHT_EXECUTIONS under a burst of simultaneous requests', () => {
  it.each([
    ['sync (in memory)', 'slow', {}],
    ['durable (persistence: all)', 'slow-durable', {}],
    ['idempotent (each its own key)', 'slow', { 'idempotency-key': 'key' }],
  ])('%s: exactly the bound is admitted, the rest get 503 with Retry-After', async (_path, flow, headers) => {
    t = await startService([SLOW, SLOW_DURABLE], { MAX_INFLIGHT_EXECUTIONS: '5', RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'silent' });
    const service = t.service;
    const byStatus = await burst(BURST, (i) =>
      service.app.inject({
        method: 'POST',
        url: `/flows/${flow}/execute`,
        payload: { input: { i } },
        headers: 'idempotency-key' in headers ? { 'idempotency-key': `key-${i}` } : {},
      }),
    );
    expect(byStatus.get(200)).toBe(5);
    expect(byStatus.get(503)).toBe(BURST - 5);
    expect(service.executions.inflight).toBe(0);
    // Refused requests wrote nothing: only the admitted ones are listed.
    const listed = await service.reads.list({ flow, limit: 200 }, { tenant: 'local', allTenants: true });
    expect(listed.items).toHaveLength(5);
  });

  it('a refused request is a problem with Retry-After, and the slot comes back when an execution ends', async () => {
    t = await startService([SLOW], { MAX_INFLIGHT_EXECUTIONS: '1', RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'warn' });
    const service = t.service;
    const first = service.app.inject({ method: 'POST', url: '/flows/slow/execute', payload: { input: {} } }).then((response) => response);
    while (service.executions.inflight === 0) await new Promise((resolve) => setImmediate(resolve));
    const refused = await service.app.inject({ method: 'POST', url: '/flows/slow/execute', payload: { input: {} } });
    expectProblem(refused, 503, 'FLOWD_ERR_OVERLOADED');
    expect(refused.headers['retry-after']).toBe('1');
    // Load shedding is logged as a warning without a stack, not as an error of the service.
    const lines = t.logs().trim().split('\n').map((line) => JSON.parse(line) as { level: number; msg: string; code?: string; err?: unknown });
    expect(lines.filter((line) => line.level >= 50)).toEqual([]);
    expect(lines.filter((line) => line.msg === 'request refused: the service is at a bound')).toMatchObject([{ level: 40, code: 'FLOWD_ERR_OVERLOADED' }]);
    expect(lines.some((line) => line.err !== undefined)).toBe(false);
    expect((await first).statusCode).toBe(200);
    expect((await service.app.inject({ method: 'POST', url: '/flows/slow/execute', payload: { input: {} } })).statusCode).toBe(200);
  });
});

describe('queue bounds on the async path', () => {
  const alice = makeKey('alice', ['flows:execute', 'executions:read']);
  const bob = makeKey('bob', ['flows:execute', 'executions:read']);

  it("one tenant's flood stops at QUEUE_MAX_PER_TENANT (429) while another tenant is still admitted; QUEUE_MAX bounds all (503)", async () => {
    t = await startService([SLOW], {
      API_KEYS: apiKeysEnv(alice, bob),
      QUEUE_MAX_PER_TENANT: '5',
      QUEUE_MAX: '8',
      WORKER_CONCURRENCY: '0',
      RATE_LIMIT_PER_MINUTE: '0',
      LOG_LEVEL: 'silent',
    });
    const service = t.service;
    const send = (key: typeof alice) => (i: number) =>
      service.app.inject({ method: 'POST', url: '/flows/slow/execute', payload: { input: { i } }, headers: { ...key.auth, prefer: 'respond-async' } });
    const flood = await burst(BURST, send(alice));
    expect(flood.get(202)).toBe(5);
    expect(flood.get(429)).toBe(BURST - 5);
    const refused = await send(alice)(0);
    expectProblem(refused, 429, 'FLOWD_ERR_QUEUE_FULL');
    expect(refused.headers['retry-after']).toBe('5');
    const other = await burst(10, send(bob));
    // Bob has his own 5, but only 3 places are left in all.
    expect(other.get(202)).toBe(3);
    expect(other.get(503)).toBe(7);
    expect(await service.store.countQueued()).toBe(8);
    expectProblem(await send(bob)(99), 503, 'FLOWD_ERR_OVERLOADED');
  });

  it('the input of an async execution is stored once', async () => {
    t = await startService([SLOW], { WORKER_CONCURRENCY: '0', RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'silent' });
    const service = t.service;
    const input = { lines: Array.from({ length: 200 }, (_, i) => ({ sku: `sku-${i}`, qty: i })) };
    const accepted = await service.app.inject({ method: 'POST', url: '/flows/slow/execute', payload: { input }, headers: { prefer: 'respond-async' } });
    const stored = await service.store.get(json(accepted)['executionId'] as string, { withState: true });
    const started = stored!.rows[0]!;
    expect(started.type).toBe('execution_started');
    expect(started.state).toBeNull();
    expect(started.data.split('sku-199')).toHaveLength(2);
  });
});
