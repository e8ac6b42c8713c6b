/**
 * A component is closed while the process runs (its flow version was retired and nothing runs on
 * it) and may be used again later (an execution pinned to that version): every adapter reopens
 * lazily after close(), and a close that overlaps an open — a call right after it, or a readiness
 * check still connecting — leaves no connection behind. Against the real servers, counting the
 * connections through a TCP proxy in front of each.
 */
import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect as natsConnect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAmqpAdapter } from '../../src/adapters/amqp/amqp-adapter.js';
import { createMqttAdapter } from '../../src/adapters/mqtt/mqtt-adapter.js';
import { createNatsAdapter } from '../../src/adapters/nats/nats-adapter.js';
import { createRedisAdapter } from '../../src/adapters/redis/redis-adapter.js';
import { createSqlAdapter } from '../../src/adapters/sql/sql-adapter.js';
import type { AdapterContext, Component } from '../../src/adapters/types.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const PG_URL = new URL(process.env['FLOWD_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test');
const id = randomBytes(4).toString('hex');
const subject = `flowd.reopen.${id}`;
const stream = `FLOWD_REOPEN_${id}`;

const ctx = (): AdapterContext => ({
  signal: new AbortController().signal,
  logger: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } as unknown as AdapterContext['logger'],
  attempt: 1,
  executionId: 'e',
  flow: 'f',
  phase: 'p',
  component: 'c',
  idempotencyKey: `key-${randomBytes(4).toString('hex')}`,
});

interface Case {
  readonly name: string;
  readonly port: number;
  readonly make: (port: number) => Component;
  readonly request: unknown;
}

const cases: Case[] = [
  {
    name: 'redis',
    port: 6379,
    make: (port) => createRedisAdapter().create({ url: `redis://127.0.0.1:${port}/0`, key_prefix: `flowd-reopen:${id}:` }, { name: 'c', flow: 'f' }),
    request: { command: 'incr', key: 'n' },
  },
  {
    name: 'sql',
    port: Number(PG_URL.port || 5432),
    make: (port) => createSqlAdapter().create({ url: `postgres://${PG_URL.username}@127.0.0.1:${port}${PG_URL.pathname}`, statements: { one: 'SELECT 1 AS one' } }, { name: 'c', flow: 'f' }),
    request: { statement: 'one' },
  },
  {
    name: 'amqp',
    port: 5672,
    make: (port) => createAmqpAdapter().create({ url: `amqp://guest:guest@127.0.0.1:${port}`, exchange: 'amq.topic', routing_keys: ['flowd.reopen'] }, { name: 'c', flow: 'f' }),
    request: { routing_key: 'flowd.reopen', body: { n: 1 } },
  },
  {
    name: 'mqtt',
    port: 1883,
    make: (port) => createMqttAdapter().create({ url: `mqtt://127.0.0.1:${port}`, topics: [`flowd/reopen/${id}`] }, { name: 'c', flow: 'f' }),
    request: { topic: `flowd/reopen/${id}`, body: { n: 1 } },
  },
  {
    name: 'nats',
    port: 4222,
    make: (port) => createNatsAdapter().create({ url: `nats://127.0.0.1:${port}`, subjects: [subject] }, { name: 'c', flow: 'f' }),
    request: { subject, body: { n: 1 } },
  },
];

/** Polls (bounded) until `proxy` has `n` connections open; gives the last count. */
async function openSettlesAt(proxy: TcpProxy, n: number): Promise<number> {
  for (let i = 0; i < 200 && proxy.open() !== n; i++) await new Promise((resolve) => setTimeout(resolve, 25));
  return proxy.open();
}

let nats: NatsConnection;
beforeAll(async () => {
  nats = await natsConnect({ servers: '127.0.0.1:4222' });
  await (await jetstreamManager(nats)).streams.add({ name: stream, subjects: [subject] });
});
afterAll(async () => {
  await (await jetstreamManager(nats)).streams.delete(stream).catch(() => undefined);
  await nats.close();
});

for (const { name, port, make, request } of cases) {
  describe(`${name}: close while the process runs`, () => {
    let proxy: TcpProxy;
    beforeAll(async () => {
      proxy = await startTcpProxy(port);
    });
    afterAll(async () => {
      await proxy.close();
    });

    it('reopens at the next call after close(), also when that call comes while the close is under way, and keeps one connection', async () => {
      const component = make(proxy.port);
      await component.execute(request, ctx());
      expect(await openSettlesAt(proxy, 1)).toBe(1);
      await component.close!();
      expect(await openSettlesAt(proxy, 0)).toBe(0);

      await component.execute(request, ctx());
      const closing = component.close!();
      await component.execute(request, ctx());
      await closing;
      // The old connection's end must not make the component forget the new one.
      await component.execute(request, ctx());
      await component.execute(request, ctx());
      expect(await openSettlesAt(proxy, 1)).toBe(1);
      await component.close!();
      expect(await openSettlesAt(proxy, 0)).toBe(0);
    });

    it('leaves no connection behind when closed while a readiness check is still connecting', async () => {
      const component = make(proxy.port);
      const ready = component.ready!();
      await component.close!();
      await ready.catch(() => undefined);
      expect(await openSettlesAt(proxy, 0)).toBe(0);
      await component.execute(request, ctx());
      expect(await openSettlesAt(proxy, 1)).toBe(1);
      await component.close!();
      expect(await openSettlesAt(proxy, 0)).toBe(0);
    });
  });
}
