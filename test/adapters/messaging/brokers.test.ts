/**
 * The message publishers against the machine's real RabbitMQ, NATS JetStream and Mosquitto: a flow
 * publishes, a consumer receives the message with the execution's idempotency key; a compensation
 * publishes a cancellation; a broker that is down is a retryable failure; a missing exchange or
 * stream is terminal; JetStream drops a duplicate published again with the same key (a retry).
 */
import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect as natsConnect, type NatsConnection } from '@nats-io/transport-node';
import amqp from 'amqplib';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNatsAdapter } from '../../../src/adapters/nats/nats-adapter.js';
import type { AdapterContext } from '../../../src/adapters/types.js';
import { makeFlowDir } from '../../helpers/flow-dir.js';
import { startTestService, type TestService } from '../../helpers/service.js';

const id = randomBytes(4).toString('hex');
const exchange = `flowd_ex_${id}`;
const queue = `flowd_q_${id}`;
const stream = `FLOWD_${id}`;
const subject = `flowd.${id}.created`;
const topic = `flowd/${id}/created`;

interface RecordView {
  executionId: string;
  status: string;
  error?: { reason?: string };
  phases: { id: string; attempts: number }[];
  compensations?: { phase: string; status: string }[];
}

const failing = `  failing:\n    adapter: mock\n    responses: { default: { status: 500 } }\n    retry_policy: { max_attempts: 1 }\n`;
const fast = 'retry_policy: { max_attempts: 3, initial_delay_ms: 1, max_delay_ms: 2 }';

const flows = makeFlowDir({
  'amqp-saga.yaml': `name: amqp-saga
transactional: true
components:
  events:
    adapter: amqp
    url: "amqp://guest:guest@127.0.0.1:5672"
    exchange: ${exchange}
    routing_keys: [order.created, order.cancelled]
${failing}phases:
  - id: announce
    component: events
    request: { routing_key: order.created, body: { order: "{% input.order %}" }, headers: { source: flowd-test } }
    compensate: { request: { routing_key: order.cancelled, body: { order: "{% request.body.order %}" } } }
  - id: fail_later
    component: failing
    request: { path: /x }
`,
  'amqp-missing.yaml': `name: amqp-missing\ncomponents:\n  events:\n    adapter: amqp\n    url: "amqp://guest:guest@127.0.0.1:5672"\n    exchange: flowd_no_such_exchange_${id}\n    routing_keys: [k]\n    ${fast}\nphases:\n  - id: p\n    component: events\n    request: { routing_key: k, body: 1 }\n`,
  'amqp-down.yaml': `name: amqp-down\ncomponents:\n  events:\n    adapter: amqp\n    url: "amqp://guest:guest@127.0.0.1:1"\n    exchange: ${exchange}\n    routing_keys: [k]\n    ${fast}\nphases:\n  - id: p\n    component: events\n    request: { routing_key: k, body: 1 }\n`,
  'nats-pub.yaml': `name: nats-pub\ncomponents:\n  bus:\n    adapter: nats\n    url: "nats://127.0.0.1:4222"\n    subjects: [${subject}, flowd.${id}.nostream]\n    retry_policy: { max_attempts: 2, initial_delay_ms: 1 }\nphases:\n  - id: p\n    component: bus\n    request: { subject: "{% input.to %}" , body: { order: "{% input.order %}" } }\n`.replace('"{% input.to %}"', subject),
  'nats-nostream.yaml': `name: nats-nostream\ncomponents:\n  bus:\n    adapter: nats\n    url: "nats://127.0.0.1:4222"\n    subjects: [flowd.${id}.nostream]\n    ${fast}\nphases:\n  - id: p\n    component: bus\n    request: { subject: flowd.${id}.nostream, body: 1 }\n`,
  'mqtt-pub.yaml': `name: mqtt-pub\ncomponents:\n  devices:\n    adapter: mqtt\n    url: "mqtt://127.0.0.1:1883"\n    topics: [${topic}]\nphases:\n  - id: p\n    component: devices\n    request: { topic: ${topic}, body: { order: "{% input.order %}" } }\n`,
  'mqtt-down.yaml': `name: mqtt-down\ncomponents:\n  devices:\n    adapter: mqtt\n    url: "mqtt://127.0.0.1:1"\n    topics: [${topic}]\n    ${fast}\nphases:\n  - id: p\n    component: devices\n    request: { topic: ${topic}, body: 1 }\n`,
});

let service: TestService;
let rabbit: amqp.ChannelModel;
let channel: amqp.Channel;
let nats: NatsConnection;

const execute = async (name: string, input: unknown = {}): Promise<RecordView> => {
  const body: RecordView & { execution?: RecordView } = (await service.app.inject({ method: 'POST', url: `/flows/${name}/execute`, payload: { input } })).json();
  return body.execution ?? body;
};
const sentOf = async (executionId: string, phase: string): Promise<Record<string, unknown>> => {
  const detail: { phases: { id: string; calls: { request: Record<string, unknown> }[] }[] } = (await service.app.inject({ method: 'GET', url: `/executions/${executionId}` })).json();
  return detail.phases.find((p) => p.id === phase)!.calls[0]!.request;
};

beforeAll(async () => {
  rabbit = await amqp.connect('amqp://guest:guest@127.0.0.1:5672');
  channel = await rabbit.createChannel();
  await channel.assertExchange(exchange, 'topic', { durable: false, autoDelete: false });
  await channel.assertQueue(queue, { durable: false, exclusive: true });
  await channel.bindQueue(queue, exchange, 'order.*');
  nats = await natsConnect({ servers: '127.0.0.1:4222' });
  await (await jetstreamManager(nats)).streams.add({ name: stream, subjects: [subject], duplicate_window: 60_000_000_000 });
  service = await startTestService({ FLOWS_DIR: flows.dir, EGRESS_ALLOW: '127.0.0.1,localhost' });
});

afterAll(async () => {
  await service?.close();
  await channel?.deleteExchange(exchange).catch(() => undefined);
  await rabbit?.close().catch(() => undefined);
  if (nats !== undefined) {
    await (await jetstreamManager(nats)).streams.delete(stream).catch(() => undefined);
    await nats.close();
  }
  flows.cleanup();
});

describe('amqp', () => {
  it('publishes on a confirm channel with the idempotency key as message id; a compensation publishes the cancellation', async () => {
    const record = await execute('amqp-saga', { order: 'o-1' });
    expect(record.status).toBe('compensated');
    expect(record.compensations).toMatchObject([{ phase: 'announce', status: 'succeeded' }]);
    const sent = await sentOf(record.executionId, 'announce');
    const created = await channel.get(queue, { noAck: true });
    const cancelled = await channel.get(queue, { noAck: true });
    expect(created && created.fields.routingKey).toBe('order.created');
    expect(created && JSON.parse(created.content.toString())).toEqual({ order: 'o-1' });
    expect(created && created.properties.messageId).toBe(sent['message_id']);
    expect(created && created.properties.headers).toMatchObject({ source: 'flowd-test', 'idempotency-key': sent['message_id'], 'flowd-execution-id': record.executionId });
    expect(cancelled && [cancelled.fields.routingKey, JSON.parse(cancelled.content.toString())]).toEqual(['order.cancelled', { order: 'o-1' }]);
  });

  it('fails at once with AMQP_NO_EXCHANGE when the exchange does not exist (terminal: not retried)', async () => {
    const record = await execute('amqp-missing');
    expect(record.error?.reason).toBe('AMQP_NO_EXCHANGE');
    expect(record.phases[0]!.attempts).toBe(1);
  });

  it('retries a broker that is down (AMQP_CONNECTION is retryable)', async () => {
    const record = await execute('amqp-down');
    expect(record.error?.reason).toBe('AMQP_CONNECTION');
    expect(record.phases[0]!.attempts).toBe(3);
  });
});

describe('nats (JetStream)', () => {
  it('publishes with an acknowledgement from the stream, the idempotency key as Nats-Msg-Id', async () => {
    const record = await execute('nats-pub', { order: 'o-2' });
    expect(record.status).toBe('succeeded');
    const sent = await sentOf(record.executionId, 'p');
    const jsm = await jetstreamManager(nats);
    const message = await jsm.streams.getMessage(stream, { last_by_subj: subject });
    expect(message?.json()).toEqual({ order: 'o-2' });
    expect(message?.header.get('Nats-Msg-Id')).toBe(sent['message_id']);
    expect(message?.header.get('idempotency-key')).toBe(sent['message_id']);
  });

  it('a retried publish with the same key is stored once: the second acknowledgement says duplicate', async () => {
    const component = createNatsAdapter().create({ url: 'nats://127.0.0.1:4222', subjects: [subject] }, { name: 'bus', flow: 'f' });
    const ctx = (attempt: number): AdapterContext => ({
      signal: new AbortController().signal,
      logger: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } as unknown as AdapterContext['logger'],
      attempt,
      executionId: 'e',
      flow: 'f',
      phase: 'p',
      component: 'bus',
      idempotencyKey: `key-${id}`,
    });
    try {
      const first = (await component.execute({ subject, body: 1 }, ctx(1))) as { duplicate: boolean; sequence: number };
      const second = (await component.execute({ subject, body: 1 }, ctx(2))) as { duplicate: boolean; sequence: number };
      expect(first.duplicate).toBe(false);
      expect(second).toMatchObject({ duplicate: true, sequence: first.sequence });
    } finally {
      await component.close?.();
    }
  });

  it('fails with NATS_NO_STREAM when no stream captures the subject (terminal)', async () => {
    const record = await execute('nats-nostream');
    expect(record.error?.reason).toBe('NATS_NO_STREAM');
    expect(record.phases[0]!.attempts).toBe(1);
  });
});

describe('mqtt', () => {
  it('publishes with QoS 1 (PUBACK) and the idempotency key as a user property', async () => {
    const subscriber = await mqtt.connectAsync('mqtt://127.0.0.1:1883', { protocolVersion: 5 });
    try {
      const received = new Promise<{ payload: string; props: Record<string, unknown> }>((resolve) => {
        subscriber.on('message', (_topic, payload, packet) => resolve({ payload: payload.toString(), props: (packet.properties?.userProperties ?? {}) }));
      });
      await subscriber.subscribeAsync(topic, { qos: 1 });
      const record = await execute('mqtt-pub', { order: 'o-3' });
      expect(record.status).toBe('succeeded');
      const sent = await sentOf(record.executionId, 'p');
      const message = await received;
      expect(JSON.parse(message.payload)).toEqual({ order: 'o-3' });
      expect(message.props['idempotency-key']).toBe(sent['message_id']);
    } finally {
      await subscriber.endAsync();
    }
  });

  it('retries a broker that is down (MQTT_CONNECTION is retryable)', async () => {
    const record = await execute('mqtt-down');
    expect(record.error?.reason).toBe('MQTT_CONNECTION');
    expect(record.phases[0]!.attempts).toBe(3);
  });
});

describe('what a publish request may name, checked at load', () => {
  const load = async (request: unknown): Promise<string> => {
    const { buildEngine } = await import('../../../src/library.js');
    try {
      const built = await buildEngine({
        flows: [{ name: 'f', components: { events: { adapter: 'amqp', url: 'amqp://127.0.0.1', exchange: 'orders', routing_keys: ['order.created', 'order.cancelled'] } }, phases: [{ id: 'p', component: 'events', request }] }],
      });
      await built.engine.close();
      return '';
    } catch (error) {
      return String((error as { issues?: { path: string; message: string }[] }).issues?.map((i) => `${i.path}: ${i.message}`));
    }
  };

  it('refuses a destination chosen by an expression: input never chooses where a message goes', async () => {
    expect(await load({ routing_key: '{% input.key %}', body: 1 })).toMatch(/request\.routing_key: routing_key must be one of the component's declared routing_keys.*written out/);
  });

  it('refuses an undeclared destination with a did-you-mean', async () => {
    expect(await load({ routing_key: 'order.create', body: 1 })).toMatch(/routing_key "order.create" is not declared.*did you mean "order.created"/i);
  });

  it('accepts a declared destination with a body from expressions', async () => {
    expect(await load({ routing_key: 'order.created', body: '{% input %}' })).toBe('');
  });
});
