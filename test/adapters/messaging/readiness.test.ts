/**
 * Required amqp and mqtt components and /health/ready against the machine's real RabbitMQ and
 * Mosquitto behind TCP proxies: a broker that hangs (the proxy stops passing bytes, the
 * connection stays open) makes the service unready, naming the components; once the broker
 * answers again it is ready. An open connection alone does not count as an answer.
 */
import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFlowDir } from '../../helpers/flow-dir.js';
import { startTestService, type TestService } from '../../helpers/service.js';
import { startTcpProxy, type TcpProxy } from '../../helpers/tcp-proxy.js';

const exchange = `flowd_ready_${randomBytes(4).toString('hex')}`;

let rabbit: amqp.ChannelModel;
let amqpProxy: TcpProxy;
let mqttProxy: TcpProxy;
let service: TestService;
let flows: ReturnType<typeof makeFlowDir>;

beforeAll(async () => {
  rabbit = await amqp.connect('amqp://guest:guest@127.0.0.1:5672');
  const channel = await rabbit.createChannel();
  await channel.assertExchange(exchange, 'topic', { durable: false });
  await channel.close();
  amqpProxy = await startTcpProxy(5672);
  mqttProxy = await startTcpProxy(1883);
  flows = makeFlowDir({
    'brokers.yaml': `name: brokers
components:
  events:
    adapter: amqp
    url: "amqp://guest:guest@127.0.0.1:${amqpProxy.port}"
    exchange: ${exchange}
    routing_keys: [k]
    required: true
  devices:
    adapter: mqtt
    url: "mqtt://127.0.0.1:${mqttProxy.port}"
    topics: [flowd/ready-test]
    required: true
phases:
  - id: a
    component: events
    request: { routing_key: k, body: 1 }
  - id: m
    component: devices
    request: { topic: flowd/ready-test, body: 1 }
`,
  });
  service = await startTestService({ FLOWS_DIR: flows.dir, EGRESS_ALLOW: '127.0.0.1' });
});

afterAll(async () => {
  // A frozen proxy would hold the adapters' goodbyes: let them through before closing.
  amqpProxy?.thaw();
  mqttProxy?.thaw();
  await service?.close();
  await amqpProxy?.close();
  await mqttProxy?.close();
  flows?.cleanup();
  await rabbit?.createChannel().then((channel) => channel.deleteExchange(exchange));
  await rabbit?.close();
});

const ready = async (): Promise<{ statusCode: number; body: { detail?: string; code?: string } }> => {
  const answer = await service.app.inject({ method: 'GET', url: '/health/ready' });
  return { statusCode: answer.statusCode, body: answer.json() };
};
/** Past the readiness cache (1 s), so the next probe asks the components again. */
const pastCache = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1100));

describe('required amqp and mqtt components and a hung broker', () => {
  it('is unready, naming both components, while their brokers do not answer, and ready again once they do', async () => {
    expect((await ready()).statusCode).toBe(200);
    expect(amqpProxy.open()).toBe(1);
    expect(mqttProxy.open()).toBe(1);

    amqpProxy.freeze();
    mqttProxy.freeze();
    await pastCache();
    const hung = await ready();
    expect(hung.statusCode).toBe(503);
    expect(hung.body.code).toBe('FLOWD_ERR_COMPONENT_UNAVAILABLE');
    expect(hung.body.detail).toContain('brokers/events: ');
    expect(hung.body.detail).toContain('brokers/devices: ');
    // The connections stayed open: the checks found the hang, not a closed socket.
    expect(amqpProxy.open()).toBe(1);
    expect(mqttProxy.open()).toBe(1);

    amqpProxy.thaw();
    mqttProxy.thaw();
    await pastCache();
    expect(await ready()).toMatchObject({ statusCode: 200, body: { status: 'ready' } });
    // The same connections serve again.
    expect(amqpProxy.open()).toBe(1);
    expect(mqttProxy.open()).toBe(1);
  });

  it('a deleted exchange makes it unready; the connection whose channel the broker closed is closed, not leaked', async () => {
    await pastCache();
    expect((await ready()).statusCode).toBe(200);
    expect(amqpProxy.open()).toBe(1);
    const admin = await rabbit.createChannel();
    await admin.deleteExchange(exchange);
    await pastCache();
    const gone = await ready();
    expect(gone.statusCode).toBe(503);
    expect(gone.body.detail).toContain('brokers/events: ');
    // RabbitMQ closes the channel (404); the adapter closes that connection instead of keeping it open unused.
    for (let i = 0; i < 100 && amqpProxy.open() > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(amqpProxy.open()).toBe(0);
    await admin.assertExchange(exchange, 'topic', { durable: false });
    await admin.close();
    await pastCache();
    expect((await ready()).statusCode).toBe(200);
    expect(amqpProxy.open()).toBe(1);
  });
});
