/**
 * The "Done when", exactly as docs/resilience.md tells a newcomer to do it: the example
 * order-fulfillment flow (flows/order-fulfillment.yaml) with its `payments` component pointed
 * at a real upstream (the guide's snippet, read from docs/resilience.md), served over REST:
 *   - the upstream fails twice then succeeds  → 200, the charge phase shows 3 attempts (two retries);
 *   - it always fails                         → reservations compensated, the recovery flow answers (200, recovered);
 *   - it hangs                                → 504 FLOWD_ERR_FLOW_TIMEOUT at the flow's 5 s deadline, naming `charge`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { failTimes, ok, startFaultUpstream, type FaultUpstream } from '../../helpers/fault-upstream.js';
import { makeFlowDir } from '../../helpers/flow-dir.js';
import { startTestService, type TestService } from '../../helpers/service.js';

/** docs/resilience.md's snippet: what a newcomer changes in flows/order-fulfillment.yaml (its upstream's URL replaced). */
function guidePatch(paymentsUrl: string): string {
  const guide = readFileSync('docs/resilience.md', 'utf8');
  const block = /<!-- check: flow-part into=flows\/order-fulfillment\.yaml -->\n```yaml\n([\s\S]*?)```/.exec(guide)![1]!;
  expect(block).toContain('base_url: http://127.0.0.1:9999');
  return block.replace('http://127.0.0.1:9999', paymentsUrl);
}

let upstream: FaultUpstream;
let service: TestService;
let cleanup: () => void;

beforeAll(async () => {
  upstream = await startFaultUpstream();
  const flowsDir = path.resolve('flows');
  const files: Record<string, string> = {};
  for (const name of readdirSync(flowsDir).filter((file) => file.endsWith('.yaml'))) files[name] = readFileSync(path.join(flowsDir, name), 'utf8');
  const order = parse(files['order-fulfillment.yaml']!) as Record<string, unknown> & { components: Record<string, unknown> };
  const patch = parse(guidePatch(upstream.url)) as { components: { payments: unknown } };
  order.components['payments'] = patch.components.payments;
  files['order-fulfillment.yaml'] = stringify(order);
  const dir = makeFlowDir(files);
  cleanup = dir.cleanup;
  service = await startTestService({ FLOWS_DIR: dir.dir, EGRESS_ALLOW: '127.0.0.1', LOG_LEVEL: 'silent' });
});
afterAll(async () => {
  await service.close();
  await upstream.close();
  cleanup();
});
beforeEach(() => {
  upstream.reset();
  upstream.script('GET /fraud-score', ok({ score: 0.07 }));
});

const order = { order_id: 'o-1001', customer_id: 'c-42', items: [{ sku: 'A-1', qty: 2 }, { sku: 'B-7', qty: 1 }] };
const execute = () =>
  service.app.inject({ method: 'POST', url: '/flows/order-fulfillment/execute', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ input: order }) });

interface Record_ {
  status: string;
  recovered: boolean;
  output: Record<string, unknown>;
  phases: { id: string; index?: number; status: string; attempts: number }[];
  compensations?: { phase: string; index?: number; status: string }[];
  error?: { code: string; phase?: string; message: string };
}

describe('order-fulfillment with a real payments upstream (docs/resilience.md "Try it")', () => {
  it('fails twice then succeeds: two retries in the record, the order goes through', async () => {
    upstream.script('POST /charges', failTimes(2, { status: 503 }), ok({ charge_id: 'ch-o-1001', lane: 'standard' }, 201));

    const response = await execute();

    expect(response.statusCode).toBe(200);
    const record = response.json<Record_>();
    expect(record.status).toBe('succeeded');
    expect(record.phases.find((p) => p.id === 'charge')).toMatchObject({ status: 'succeeded', attempts: 3 });
    expect(record.output).toMatchObject({ order_id: 'o-1001', charge: 'ch-o-1001', reservations: ['res-A-1', 'res-B-7'] });
    const charges = upstream.calls('POST /charges');
    expect(charges).toHaveLength(3);
    expect(new Set(charges.map((c) => c.headers['idempotency-key'])).size).toBe(1);
  });

  it('always fails: the reservations are compensated and the recovery flow answers', async () => {
    upstream.script('POST /charges', { status: 503 });

    const response = await execute();

    expect(response.statusCode).toBe(200);
    const record = response.json<Record_>();
    expect(record.recovered).toBe(true);
    expect(record.status).toBe('compensated');
    expect(record.error).toMatchObject({ code: 'FLOWD_ERR_COMPONENT_FAILED', phase: 'charge' });
    expect(record.compensations).toEqual([
      expect.objectContaining({ phase: 'reserve_line', status: 'succeeded' }),
      expect.objectContaining({ phase: 'reserve_line', status: 'succeeded' }),
    ]);
    expect(record.phases.filter((p) => p.id === 'reserve_line').map((p) => p.status)).toEqual(['compensated', 'compensated']);
    expect(record.output).toEqual({ order_id: 'o-1001', status: 'manual_review', ticket: 'T-o-1001', reason: 'FLOWD_ERR_COMPONENT_FAILED' });
    expect(upstream.count('POST /charges')).toBe(3);
  });

  it('hangs: 504 at the flow deadline naming the charge phase; reservations undone; the call aborted', async () => {
    upstream.script('POST /charges', { hang: true });

    const response = await execute();

    expect(response.statusCode).toBe(504);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    const body = response.json<{ code: string; detail: string; execution: Record_ }>();
    expect(body.code).toBe('FLOWD_ERR_FLOW_TIMEOUT');
    expect(body.detail).toContain('phase "charge"');
    expect(body.execution.error?.message).toBe('flow "order-fulfillment" exceeded its 5000 ms deadline while phase "charge" was running');
    expect(body.execution.status).toBe('compensated');
    expect(body.execution.recovered).toBe(false);
    await upstream.waitForAbort('POST /charges');
  });
});
