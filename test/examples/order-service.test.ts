/**
 * examples/services/order-service.yaml end to end against the machine's real PostgreSQL and
 * RabbitMQ and an HTTP inventory service: the happy path writes the row, reserves stock and
 * publishes order.created; a failing reservation deletes the row again; a failing publish
 * releases the reservation and deletes the row.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import amqp from 'amqplib';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ok, startFaultUpstream, type FaultUpstream } from '../helpers/fault-upstream.js';
import { startTestService, type TestService } from '../helpers/service.js';

const PG_URL = process.env['FLOWD_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';
const run = `${process.pid}-${Date.now()}`;

interface RecordView {
  status: string;
  output?: { order: string; reservation: string; message: string };
  compensations?: { phase: string; status: string }[];
}

describe('examples/services/order-service.yaml', () => {
  let db: pg.Pool;
  let rabbit: amqp.ChannelModel;
  let channel: amqp.Channel;
  let queue: string;
  let inventory: FaultUpstream;
  let service: TestService;
  let dir: string;

  const order = async (id: string): Promise<RecordView> => {
    const body: RecordView & { execution?: RecordView } = (
      await service.app.inject({ method: 'POST', url: '/flows/order-service/execute', payload: { input: { order_id: id, sku: 'A-1', qty: 2 } } })
    ).json();
    return body.execution ?? body;
  };
  const rows = async (id: string): Promise<unknown[]> => (await db.query<{ id: string }>('SELECT id, sku, qty FROM flowd_example_orders WHERE id = $1', [id])).rows;

  beforeAll(async () => {
    db = new pg.Pool({ connectionString: PG_URL, max: 2 });
    await db.query('CREATE TABLE IF NOT EXISTS flowd_example_orders (id text PRIMARY KEY, sku text NOT NULL, qty integer NOT NULL)');
    rabbit = await amqp.connect(AMQP_URL);
    channel = await rabbit.createChannel();
    await channel.assertExchange('shop.orders', 'topic', { durable: false });
    queue = (await channel.assertQueue('', { exclusive: true })).queue;
    await channel.bindQueue(queue, 'shop.orders', 'order.*');
    inventory = await startFaultUpstream();
    inventory.script('POST /reservations', ok((call: { body: { order: string } }) => ({ reservation: `res-${call.body.order}` }), 201));
    inventory.script('DELETE /reservations/*', ok({ released: true }));
    dir = mkdtempSync(path.join(tmpdir(), 'flowd-example-'));
    cpSync('examples/services/order-service.yaml', path.join(dir, 'order-service.yaml'));
    service = await startTestService({
      FLOWS_DIR: dir,
      EGRESS_ALLOW: '127.0.0.1,localhost',
      ORDERS_DATABASE_URL: PG_URL,
      INVENTORY_URL: inventory.url,
      EVENTS_AMQP_URL: AMQP_URL,
    });
  });

  afterAll(async () => {
    await service?.close();
    await inventory?.close();
    await db?.query("DELETE FROM flowd_example_orders WHERE id LIKE 'ex-%'");
    await db?.end();
    await rabbit?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes the order, reserves the stock and publishes order.created', async () => {
    const record = await order(`ex-ok-${run}`);
    expect(record.status).toBe('succeeded');
    expect(record.output).toMatchObject({ order: `ex-ok-${run}`, reservation: `res-ex-ok-${run}` });
    expect(await rows(`ex-ok-${run}`)).toEqual([{ id: `ex-ok-${run}`, sku: 'A-1', qty: 2 }]);
    const message = await channel.get(queue, { noAck: true });
    expect(message && JSON.parse(message.content.toString())).toEqual({ order: `ex-ok-${run}`, sku: 'A-1', qty: 2, reservation: `res-ex-ok-${run}` });
    expect(message && message.properties.messageId).toBe(record.output?.message);
  });

  it('deletes the row again when the reservation is refused', async () => {
    inventory.script('POST /reservations', { status: 409, body: { error: 'out of stock' } });
    const record = await order(`ex-nostock-${run}`);
    expect(record.status).toBe('compensated');
    expect(record.compensations).toMatchObject([{ phase: 'save', status: 'succeeded' }]);
    expect(await rows(`ex-nostock-${run}`)).toEqual([]);
  });

  it('releases the reservation and deletes the row when the broker refuses the message', async () => {
    inventory.script('POST /reservations', ok((call: { body: { order: string } }) => ({ reservation: `res-${call.body.order}` }), 201));
    await channel.deleteExchange('shop.orders');
    try {
      const id = `ex-nobroker-${run}`;
      const record = await order(id);
      expect(record.status).toBe('compensated');
      expect(record.compensations?.map((c) => [c.phase, c.status])).toEqual([
        ['reserve', 'succeeded'],
        ['save', 'succeeded'],
      ]);
      expect(inventory.calls('DELETE /reservations/*').map((call) => call.path)).toContain(`/reservations/res-${id}`);
      expect(await rows(id)).toEqual([]);
    } finally {
      await channel.assertExchange('shop.orders', 'topic', { durable: false });
    }
  });
});
