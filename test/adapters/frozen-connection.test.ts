/**
 * A broker's or Redis's connection that freezes (a half-open TCP connection, a broker that stopped
 * answering on it while new connections are fine) must not hold every retry until the heartbeat
 * or keepalive notices, a minute later: the attempt that timed out drops it and the retry
 * publishes on a new connection. Against the machine's real RabbitMQ, Mosquitto, NATS and Redis behind TCP
 * proxies that freeze only the connections already open.
 */
import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect as natsConnect, type NatsConnection } from '@nats-io/transport-node';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeFlowDir } from '../helpers/flow-dir.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const id = randomBytes(4).toString('hex');
const exchange = `flowd_frozen_${id}`;
const stream = `FLOWD_FROZEN_${id}`;
const subject = `flowd.frozen.${id}`;

let rabbit: amqp.ChannelModel;
let nats: NatsConnection;
let proxies: Record<'amqp' | 'mqtt' | 'nats' | 'redis', TcpProxy>;
let service: TestService;
let flows: ReturnType<typeof makeFlowDir>;

const publisher = (name: string, component: string, request: string): string => `name: ${name}
components:
  events:
    adapter: amqp
    url: "amqp://guest:guest@127.0.0.1:${proxies.amqp.port}"
    exchange: ${exchange}
    routing_keys: [k]
  devices:
    adapter: mqtt
    url: "mqtt://127.0.0.1:${proxies.mqtt.port}"
    topics: [flowd/frozen-test]
  bus:
    adapter: nats
    url: "nats://127.0.0.1:${proxies.nats.port}"
    subjects: [${subject}]
  cache:
    adapter: redis
    url: "redis://127.0.0.1:${proxies.redis.port}"
    key_prefix: "flowd:frozen:${id}:"
defaults:
  timeout_ms: 400
  retry_policy: { max_attempts: 3, initial_delay_ms: 10, jitter: none }
phases:
  - id: publish
    component: ${component}
    request: ${request}
`;

beforeAll(async () => {
  rabbit = await amqp.connect('amqp://guest:guest@127.0.0.1:5672');
  const channel = await rabbit.createChannel();
  await channel.assertExchange(exchange, 'topic', { durable: false });
  await channel.close();
  nats = await natsConnect({ servers: '127.0.0.1:4222' });
  await (await jetstreamManager(nats)).streams.add({ name: stream, subjects: [subject] });
  proxies = { amqp: await startTcpProxy(5672), mqtt: await startTcpProxy(1883), nats: await startTcpProxy(4222), redis: await startTcpProxy(6379) };
  flows = makeFlowDir({
    'to-amqp.yaml': publisher('to-amqp', 'events', '{ routing_key: k, body: "{% input %}" }'),
    'to-mqtt.yaml': publisher('to-mqtt', 'devices', '{ topic: flowd/frozen-test, body: "{% input %}" }'),
    'to-nats.yaml': publisher('to-nats', 'bus', `{ subject: ${subject}, body: "{% input %}" }`),
    'to-redis.yaml': publisher('to-redis', 'cache', '{ command: incrby, key: calls, by: 1 }'),
  });
  service = await startTestService({ FLOWS_DIR: flows.dir, EGRESS_ALLOW: '127.0.0.1' });
});

afterAll(async () => {
  for (const proxy of Object.values(proxies ?? {})) proxy.thaw();
  await service?.close();
  for (const proxy of Object.values(proxies ?? {})) await proxy.close();
  flows?.cleanup();
  await rabbit?.createChannel().then((channel) => channel.deleteExchange(exchange));
  await rabbit?.close();
  if (nats !== undefined) {
    await (await jetstreamManager(nats)).streams.delete(stream).catch(() => undefined);
    await nats.close();
  }
});

async function execute(flow: string, input: unknown): Promise<{ status: string; phases: { id: string; status: string; attempts: number }[] }> {
  const answer = await service.app.inject({ method: 'POST', url: `/flows/${flow}/execute`, payload: { input } });
  const body = answer.json<Record<string, unknown>>();
  expect(answer.statusCode === 200 || body['execution'] !== undefined, answer.body).toBe(true);
  return (answer.statusCode === 200 ? body : body['execution']) as { status: string; phases: { id: string; status: string; attempts: number }[] };
}

describe.each([
  ['amqp', 'to-amqp'],
  ['mqtt', 'to-mqtt'],
  ['nats', 'to-nats'],
  ['redis', 'to-redis'],
] as const)('%s: a connection that freezes', (kind, flow) => {
  it('times out one attempt, is dropped, and the retry publishes on a new connection', async () => {
    const proxy = proxies[kind];
    expect((await execute(flow, { n: 1 })).status).toBe('succeeded');
    expect(proxy.open()).toBe(1);

    proxy.freeze({ newConnections: false });
    const record = await execute(flow, { n: 2 });
    expect(record.status).toBe('succeeded');
    expect(record.phases[0]).toMatchObject({ id: 'publish', status: 'succeeded', attempts: 2 });
    // The frozen connection was closed, not kept beside the new one until the heartbeat: once the
    // proxy passes bytes again it reads that end, and only the new connection is left.
    proxy.thaw();
    await vi.waitFor(() => expect(proxy.open()).toBe(1));

    // The new connection serves the next execution at once.
    const next = await execute(flow, { n: 3 });
    expect(next.phases[0]).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(proxy.open()).toBe(1);
  });
});
