/**
 * Connections of retired flow versions are closed once no execution runs on them, not kept until
 * shutdown (an audit counted 2 → 6 connections per component after four reloads). Against the real
 * Redis, PostgreSQL, RabbitMQ, Mosquitto and NATS: each component's open connections are counted by
 * the server where it can tell them apart (Redis `CLIENT LIST` by ACL user, PostgreSQL
 * `pg_stat_activity` by role), else through a TCP proxy in front of the broker.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect as natsConnect, type NatsConnection } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeEntries } from '../../src/durable/journal-codec.js';
import { startedEntry } from '../../src/engine/run/execution.js';
import { NO_CLEANING } from '../../src/observability/cleaner.js';
import { makeFlowDir } from '../helpers/flow-dir.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const PG_URL = new URL(process.env['FLOWD_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test');
const id = randomBytes(4).toString('hex');
const user = `flowd_retired_${id}`;
const password = `pw-${randomBytes(8).toString('hex')}`;
const subject = `flowd.retired.${id}`;
const stream = `FLOWD_RETIRED_${id}`;

type Counts = Record<'redis' | 'postgres' | 'amqp' | 'mqtt' | 'nats', number>;

/** An HTTP server whose answers to `/hold` wait while `holding` is set, until `release()`. */
interface Gate {
  readonly url: string;
  holding: boolean;
  held(): number;
  release(): void;
  close(): Promise<void>;
}

async function startGate(): Promise<Gate> {
  const waiting: ServerResponse[] = [];
  const answer = (res: ServerResponse): void => void res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  const gate: Gate = {
    url: '',
    holding: false,
    held: () => waiting.length,
    release: () => waiting.splice(0).forEach(answer),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((_req, res) => (gate.holding ? waiting.push(res) : answer(res)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(gate, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
}

/** Calls every component, waits at the gate, calls them all again; `rev` changes the definition. */
function flowFile(rev: number, ports: { amqp: number; mqtt: number; nats: number }, gate: string): string {
  const round = (n: number): string => `  - { id: count${n}, component: kv, request: { command: incr, key: runs } }
  - { id: query${n}, component: db, request: { statement: one } }
  - { id: publish${n}, component: events, request: { routing_key: flowd.retired, body: { rev: ${rev} } } }
  - { id: notify${n}, component: devices, request: { topic: flowd/retired/${id}, body: { rev: ${rev} } } }
  - { id: announce${n}, component: bus, request: { subject: ${subject}, body: { rev: ${rev} } } }
`;
  return `name: sync
version: ${rev}
components:
  kv: { adapter: redis, url: "redis://${user}:${password}@127.0.0.1:6379/0", key_prefix: "flowd-retired:${id}:" }
  db:
    adapter: sql
    url: "postgres://${user}@${PG_URL.hostname}:${PG_URL.port || 5432}${PG_URL.pathname}"
    pool: { max: 2, idle_timeout_ms: 600000 }
    statements: { one: "SELECT 1 AS one" }
  events: { adapter: amqp, url: "amqp://guest:guest@127.0.0.1:${ports.amqp}", exchange: amq.topic, routing_keys: [flowd.retired] }
  devices: { adapter: mqtt, url: "mqtt://127.0.0.1:${ports.mqtt}", topics: [flowd/retired/${id}] }
  bus: { adapter: nats, url: "nats://127.0.0.1:${ports.nats}", subjects: [${subject}] }
  gate: { adapter: http, base_url: "${gate}", timeout_ms: 60000 }
phases:
${round(1)}  - { id: hold, component: gate, request: { method: GET, path: /hold } }
${round(2)}  - { id: rev, component: transform, request: "rev-${rev}" }
`;
}

describe('connections of retired flow versions', () => {
  let redis: Redis;
  let db: pg.Pool;
  let nats: NatsConnection;
  let proxies: { amqp: TcpProxy; mqtt: TcpProxy; nats: TcpProxy };
  let gate: Gate;
  let flows: ReturnType<typeof makeFlowDir>;
  let service: TestService;
  let rev = 1;

  const counts = async (): Promise<Counts> => ({
    redis: ((await redis.client('LIST')) as string).split('\n').filter((line) => line.includes(` user=${user} `)).length,
    postgres: Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_activity WHERE usename = $1', [user])).rows[0]!.n),
    amqp: proxies.amqp.open(),
    mqtt: proxies.mqtt.open(),
    nats: proxies.nats.open(),
  });
  /** Polls (bounded) until every component has `n` connections open, then gives the counts. */
  const settleAt = async (n: number): Promise<Counts> => {
    let seen = await counts();
    for (let i = 0; i < 200 && !Object.values(seen).every((count) => count === n); i++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      seen = await counts();
    }
    return seen;
  };
  const each = (n: number): Counts => ({ redis: n, postgres: n, amqp: n, mqtt: n, nats: n });
  const reloadTo = async (next: number): Promise<void> => {
    writeFileSync(path.join(flows.dir, 'sync.yaml'), flowFile(next, { amqp: proxies.amqp.port, mqtt: proxies.mqtt.port, nats: proxies.nats.port }, gate.url));
    expect((await service.app.inject({ method: 'POST', url: '/catalog/reload' })).json()).toMatchObject({ outcome: 'applied' });
    rev = next;
  };
  const execute = async (): Promise<Record<string, unknown>> => (await service.app.inject({ method: 'POST', url: '/flows/sync/execute', payload: { input: {} } })).json();

  beforeAll(async () => {
    redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
    await redis.connect();
    await redis.call('ACL', 'SETUSER', user, 'on', `>${password}`, '~*', '&*', '+@all');
    db = new pg.Pool({ connectionString: PG_URL.href, max: 1 });
    await db.query(`CREATE ROLE ${user} LOGIN`);
    nats = await natsConnect({ servers: '127.0.0.1:4222' });
    await (await jetstreamManager(nats)).streams.add({ name: stream, subjects: [subject] });
    proxies = { amqp: await startTcpProxy(5672), mqtt: await startTcpProxy(1883), nats: await startTcpProxy(4222) };
    gate = await startGate();
    flows = makeFlowDir({ 'sync.yaml': flowFile(rev, { amqp: proxies.amqp.port, mqtt: proxies.mqtt.port, nats: proxies.nats.port }, gate.url) });
    service = await startTestService({ FLOWS_DIR: flows.dir, EGRESS_ALLOW: '127.0.0.1,localhost' });
  });

  afterAll(async () => {
    gate?.release();
    await service?.close();
    await gate?.close();
    for (const proxy of Object.values(proxies ?? {})) await proxy.close();
    flows?.cleanup();
    if (nats !== undefined) {
      await (await jetstreamManager(nats)).streams.delete(stream).catch(() => undefined);
      await nats.close();
    }
    await redis?.del(`flowd-retired:${id}:runs`);
    await redis?.call('ACL', 'DELUSER', user).catch(() => undefined);
    redis?.disconnect();
    await db?.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [user]);
    await db?.query(`DROP ROLE IF EXISTS ${user}`).catch(() => undefined);
    await db?.end();
  });

  it('keeps one connection per component open after reloads that changed the flow (the retired versions’ are closed)', async () => {
    expect(await execute()).toMatchObject({ status: 'succeeded' });
    expect(await settleAt(1)).toEqual(each(1));
    for (let i = 0; i < 4; i++) {
      await reloadTo(rev + 1);
      expect(await execute()).toMatchObject({ status: 'succeeded', version: String(rev) });
    }
    expect(await settleAt(1)).toEqual(each(1));
  });

  it('lets an execution in flight on the old version finish on its open connections, then closes them', async () => {
    gate.holding = true;
    const old = rev;
    const running = execute();
    for (let i = 0; i < 400 && gate.held() === 0; i++) await new Promise((resolve) => setTimeout(resolve, 25));
    expect(gate.held()).toBe(1);
    gate.holding = false;

    await reloadTo(rev + 1);
    expect(await execute()).toMatchObject({ status: 'succeeded', version: String(rev) });
    // The old version's connections stay open under its execution, beside the new version's.
    expect(await counts()).toEqual(each(2));

    gate.release();
    expect(await running).toMatchObject({ status: 'succeeded', version: String(old) });
    expect(await settleAt(1)).toEqual(each(1));
  });

  it('reopens a retired version’s connections for an execution queued on it, and closes them when it ends', async () => {
    const retired = service.built.catalog.get('sync')!;
    await reloadTo(rev + 1);
    // Nothing has run on the new version yet, and the retired one's connections are closed.
    expect(await settleAt(0)).toEqual(each(0));

    gate.holding = true;
    const executionId = service.built.engine.newExecutionId();
    const journal = service.built.engine.newJournal(retired);
    journal.append(startedEntry(retired, executionId, {}, { tenant: 'local' }));
    const rows = encodeEntries(journal.entries, 0, NO_CLEANING);
    await service.store.create({ executionId, flow: 'sync', version: retired.version, flowHash: retired.hash, tenant: 'local', options: {}, status: 'queued', leaseMs: 30_000, rows });
    service.durable.queue.wake();
    for (let i = 0; i < 400 && gate.held() === 0; i++) await new Promise((resolve) => setTimeout(resolve, 25));
    expect(gate.held()).toBe(1);
    gate.holding = false;
    expect(await counts()).toEqual(each(1));

    gate.release();
    const record = async (): Promise<Record<string, unknown>> => (await service.app.inject({ method: 'GET', url: `/executions/${executionId}` })).json();
    await expect.poll(async () => (await record())['status'], { timeout: 10_000 }).toBe('succeeded');
    expect(await record()).toMatchObject({ version: retired.version });
    expect(await settleAt(0)).toEqual(each(0));
  });
});
