/**
 * The redis adapter against the machine's real Redis: the command subset with bound arguments and a
 * key prefix, TTLs, the lock (taken once per call, token-checked release), a dropped connection retried, a
 * timeout on a server that never answers, compensation, the journal showing what was sent.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisAdapter } from '../../../src/adapters/redis/redis-adapter.js';
import type { AdapterContext } from '../../../src/adapters/types.js';
import { makeFlowDir } from '../../helpers/flow-dir.js';
import { startTestService, type TestService } from '../../helpers/service.js';

const PREFIX = `flowd-test:${randomBytes(4).toString('hex')}:`;
const PASSWORD = `pw-${randomBytes(6).toString('hex')}`;

function flow(name: string, url: string, phases: string, extra = ''): string {
  return `name: ${name}
components:
  kv:
    adapter: redis
    url: "${url}"
    key_prefix: "${PREFIX}"
    max_items: 3
    retry_policy: { max_attempts: 3, initial_delay_ms: 1, max_delay_ms: 2 }
  failing:
    adapter: mock
    responses: { default: { status: 500, body: "down" } }
    retry_policy: { max_attempts: 1 }
${extra}phases:
${phases}`;
}

interface RecordView {
  executionId: string;
  status: string;
  output?: Record<string, unknown>;
  error?: Record<string, unknown>;
  phases: { id: string; attempts?: number; output?: Record<string, unknown>; calls: { request?: unknown }[] }[];
  compensations?: unknown[];
}

/** A TCP proxy to Redis that drops the first connection it gets as soon as it is sent anything. */
function droppingProxy(): Promise<{ port: number; close: () => Promise<void> }> {
  let seen = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    if (seen++ === 0) {
      socket.once('data', () => socket.destroy());
      return;
    }
    const upstream = net.connect(6379, '127.0.0.1');
    sockets.add(upstream);
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as net.AddressInfo).port,
        close: () => {
          for (const socket of sockets) socket.destroy();
          return new Promise((done) => server.close(() => done()));
        },
      }),
    ),
  );
}

/** A server that accepts connections and never answers (a hung Redis). */
function silentServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => void sockets.add(socket));
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as net.AddressInfo).port,
        close: () => {
          for (const socket of sockets) socket.destroy();
          return new Promise((done) => server.close(() => done()));
        },
      }),
    ),
  );
}

describe('redis adapter on the real Redis', () => {
  let redis: Redis;
  let service: TestService;
  let flows: ReturnType<typeof makeFlowDir>;
  let proxy: Awaited<ReturnType<typeof droppingProxy>>;
  let silent: Awaited<ReturnType<typeof silentServer>>;
  const execute = async (name: string, input: unknown): Promise<RecordView> => {
    const body: RecordView & { execution?: RecordView } = (await service.app.inject({ method: 'POST', url: `/flows/${name}/execute`, payload: { input } })).json();
    return body.execution ?? body;
  };
  const detail = async (id: string): Promise<RecordView> => (await service.app.inject({ method: 'GET', url: `/executions/${id}` })).json();

  beforeAll(async () => {
    redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
    await redis.connect();
    proxy = await droppingProxy();
    silent = await silentServer();
    const url = 'redis://127.0.0.1:6379/0';
    flows = makeFlowDir({
      'kv.yaml': flow(
        'kv',
        url,
        `  - id: put
    component: kv
    request: { command: set, key: "{% input.key %}", value: "{% input.value %}", ttl_ms: 60000 }
  - id: read
    component: kv
    request: { command: get, key: "{% input.key %}" }
  - id: count
    component: kv
    request: { command: incrby, key: counter, by: 5 }
  - id: hash
    component: kv
    request: { command: hset, key: h, fields: { a: 1, b: "{% input.value %}" } }
  - id: hashall
    component: kv
    request: { command: hgetall, key: h }
  - id: push
    component: kv
    request: { command: rpush, key: l, values: [1, 2, 3, 4, 5] }
  - id: range
    component: kv
    request: { command: lrange, key: l }
    output: "{% result %}"
`,
      ),
      'locks.yaml': flow(
        'locks',
        url,
        `  - id: take
    component: kv
    request: { command: lock, key: "{% 'lock:' & input.id %}", ttl_ms: 30000 }
  - id: again
    component: kv
    request: { command: lock, key: "{% 'lock:' & input.id %}", ttl_ms: 30000 }
  - id: wrong_release
    component: kv
    request: { command: unlock, key: "{% 'lock:' & input.id %}", token: "not-the-token" }
  - id: release
    component: kv
    request: { command: unlock, key: "{% 'lock:' & input.id %}", token: "{% phases.take.token %}" }
`,
      ),
      'saga.yaml': flow(
        'saga',
        url,
        `  - id: reserve
    component: kv
    request: { command: set, key: "{% 'res:' & input.id %}", value: held }
    compensate: { request: { command: del, key: "{% request.key %}" } }
  - id: notify
    component: failing
    request: { path: /notify }
`,
        'transactional: true\n',
      ),
      'wrongtype.yaml': flow('wrongtype', url, `  - id: bad\n    component: kv\n    request: { command: incr, key: h }\n`),
      'dropped.yaml': flow('dropped', `redis://:\${secret:FLOWD_TEST_REDIS_PASSWORD}@127.0.0.1:${proxy.port}/0`.replace(`:\${secret:FLOWD_TEST_REDIS_PASSWORD}@`, '@'), `  - id: hit\n    component: kv\n    request: { command: incr, key: dropped }\n`),
      'hung.yaml': flow(
        'hung',
        `redis://:\${secret:FLOWD_TEST_REDIS_PASSWORD}@127.0.0.1:${silent.port}/0`,
        `  - id: wait\n    component: kv\n    timeout_ms: 300\n    retry_policy: { max_attempts: 1 }\n    request: { command: get, key: x }\n`,
      ),
      'outside.yaml': flow('outside', 'redis://10.255.255.1:6379/0', `  - id: hit\n    component: kv\n    request: { command: get, key: x }\n`),
    });
    service = await startTestService({ FLOWS_DIR: flows.dir, EGRESS_ALLOW: '127.0.0.1,localhost', FLOWD_TEST_REDIS_PASSWORD: PASSWORD });
  });

  afterAll(async () => {
    await service?.close();
    flows?.cleanup();
    await proxy?.close();
    await silent?.close();
    const keys = await redis.keys(`${PREFIX}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis?.quit();
  });

  it('runs the command subset with bound values under the key prefix; lrange is capped and marked', async () => {
    const hostile = 'x\r\nFLUSHALL\r\n';
    const record = await execute('kv', { key: 'k1', value: hostile });
    expect(record.status).toBe('succeeded');
    expect(await redis.get(`${PREFIX}k1`)).toBe(hostile);
    const ttl = await redis.pttl(`${PREFIX}k1`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
    expect(await redis.dbsize()).toBeGreaterThan(0);
    const view = await detail(record.executionId);
    const output = (id: string) => view.phases.find((p) => p.id === id)!.output;
    expect(output('read')).toEqual({ value: hostile });
    expect(output('count')).toEqual({ value: 5 });
    expect(output('hashall')).toEqual({ fields: { a: '1', b: hostile } });
    expect(record.output).toEqual({ values: ['1', '2', '3'], truncated: true });
    // The journal shows the command and its arguments as sent (the key with its prefix).
    expect(view.phases.find((p) => p.id === 'put')!.calls[0]!.request).toEqual({ command: 'set', key: `${PREFIX}k1`, value: hostile, ttl_ms: 60000 });
  });

  it('takes a lock once (with a token of its call) and releases it only with that token', async () => {
    const record = await execute('locks', { id: 'o1' });
    expect(record.status).toBe('succeeded');
    const view = await detail(record.executionId);
    const output = (id: string) => view.phases.find((p) => p.id === id)!.output;
    // The token is a credential for the lock: the record redacts it like any sensitive field.
    expect(output('take')).toEqual({ acquired: true, token: '[REDACTED]' });
    expect(output('again')).toEqual({ acquired: false });
    expect(output('wrong_release')).toEqual({ released: false });
    expect(output('release')).toEqual({ released: true });
    expect(await redis.exists(`${PREFIX}lock:o1`)).toBe(0);
  });

  it('an attempt run again (its first answer lost) finds the lock its own call took, not a stranger: same token, expiry renewed', async () => {
    const component = createRedisAdapter().create({ url: 'redis://127.0.0.1:6379/0', key_prefix: PREFIX }, { name: 'kv', flow: 'f' });
    const ctx = (idempotencyKey: string, attempt: number): AdapterContext => ({
      signal: new AbortController().signal,
      logger: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } as unknown as AdapterContext['logger'],
      attempt,
      executionId: 'e',
      flow: 'f',
      phase: 'take',
      component: 'kv',
      idempotencyKey,
    });
    try {
      const request = { command: 'lock', key: 'lock:retried', ttl_ms: 5000 };
      const first = (await component.execute(request, ctx('exec-1:take', 1))) as { acquired: boolean; token?: string };
      await redis.pexpire(`${PREFIX}lock:retried`, 1000);
      const again = (await component.execute({ ...request, ttl_ms: 30000 }, ctx('exec-1:take', 2))) as { acquired: boolean; token?: string };
      expect(first.acquired).toBe(true);
      expect(again).toEqual({ acquired: true, token: first.token });
      expect(await redis.pttl(`${PREFIX}lock:retried`)).toBeGreaterThan(5000);
      // Another call (another execution, or another phase) is locked out while it is held.
      expect(await component.execute(request, ctx('exec-2:take', 1))).toEqual({ acquired: false });
      expect(await component.execute({ command: 'unlock', key: 'lock:retried', token: first.token }, ctx('exec-1:release', 1))).toEqual({ released: true });
    } finally {
      await component.close?.();
    }
  });

  it('compensates a SET with its DEL when a later phase fails', async () => {
    const record = await execute('saga', { id: 's1' });
    expect(record.status).toBe('compensated');
    expect(record.compensations).toMatchObject([{ phase: 'reserve', status: 'succeeded' }]);
    expect(await redis.exists(`${PREFIX}res:s1`)).toBe(0);
  });

  it('fails a wrong-type command terminally (not retried) with REDIS_WRONG_TYPE', async () => {
    await redis.hset(`${PREFIX}h`, 'a', '1');
    const record = await execute('wrongtype', {});
    expect(record.status).toBe('failed');
    expect(record.error).toMatchObject({ reason: 'REDIS_WRONG_TYPE' });
    expect(record.phases[0]).toMatchObject({ id: 'bad', attempts: 1 });
  });

  it('retries a dropped connection and succeeds on the next attempt', async () => {
    const record = await execute('dropped', {});
    expect(record.status).toBe('succeeded');
    expect(record.phases[0]).toMatchObject({ id: 'hit', attempts: 2 });
    expect(await redis.get(`${PREFIX}dropped`)).toBe('1');
  });

  it('times out on a server that never answers, and never shows the password', async () => {
    const record = await execute('hung', {});
    expect(record.status).toBe('failed');
    expect(record.phases[0]).toMatchObject({ id: 'wait', attempts: 1 });
    expect(JSON.stringify(record.error)).toMatch(/time/i);
    const logs = await service.app.inject({ method: 'GET', url: `/executions/${record.executionId}/logs` });
    const flowDoc = await service.app.inject({ method: 'GET', url: '/flows/hung' });
    for (const text of [JSON.stringify(record), JSON.stringify(await detail(record.executionId)), logs.body, flowDoc.body]) expect(text).not.toContain(PASSWORD);
  });

  it('counts each attempt per component and outcome in flowd_component_calls_total', async () => {
    const text = (await service.metricsApp.inject({ method: 'GET', url: '/metrics' })).body;
    const value = (labels: string): number => Number(new RegExp(`^flowd_component_calls_total\\{${labels}\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 'NaN');
    // "dropped": the first attempt lost its connection, the retry succeeded; "hung" timed out.
    expect(value('flow="dropped",component="kv",outcome="failed"')).toBe(1);
    expect(value('flow="dropped",component="kv",outcome="succeeded"')).toBe(1);
    expect(value('flow="hung",component="kv",outcome="timeout"')).toBe(1);
    expect(value('flow="kv",component="kv",outcome="succeeded"')).toBe(7);
  });

  it('refuses an address the egress policy does not allow', async () => {
    const record = await execute('outside', {});
    expect(record.status).toBe('failed');
    expect(record.error).toMatchObject({ reason: 'EGRESS_DENIED' });
    expect(record.phases[0]).toMatchObject({ attempts: 1 });
  });
});
