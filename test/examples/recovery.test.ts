/** examples/recovery.ts: when the FlowExecutionError is recoverable, the recovery flow answers. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildEngine, FlowExecutionError } from '../../src/index.js';
import { main, orderRescue, placeOrderOrRecover } from '../../examples/recovery.js';
import { orderSaga } from '../../examples/transaction.js';
import { startFaultUpstream, type FaultUpstream } from '../helpers/fault-upstream.js';

let upstream: FaultUpstream;
beforeAll(async () => {
  upstream = await startFaultUpstream();
});
afterAll(async () => {
  await upstream.close();
});
beforeEach(() => {
  upstream.reset();
  upstream.script('POST /reservations', { status: 201, body: { reservation: 'res-1' } });
  upstream.script('DELETE /reservations/*', { status: 204 });
  upstream.script('POST /tickets', { status: 201, body: { ticket: 'T-42' } });
});

const http = () => ({ adapter: 'http', base_url: upstream.url });
const order = { order_id: 'o-7', sku: 'A-1', qty: 1 };

async function engine() {
  return (
    await buildEngine({
      flows: [orderSaga({ inventory: http(), payments: http() }), orderRescue(http())],
      egressAllow: ['127.0.0.1'],
      random: () => 0,
    })
  ).engine;
}

describe('examples/recovery.ts', () => {
  it('main() answers through the recovery flow when payments are down', async () => {
    const outcome = await main(() => {});
    expect(outcome).toEqual({ status: 'manual_review', order_id: 'o-2', ticket: 'T-o-2', reason: 'FLOWD_ERR_COMPONENT_FAILED' });
  });

  it('a recoverable failure (503 after retries) is rolled back, then recovered with { error, input, phases }', async () => {
    upstream.script('POST /charges', { status: 503 });
    const saga = await engine();
    try {
      const outcome = await placeOrderOrRecover(saga, order, () => {});

      expect(outcome).toEqual({ status: 'manual_review', order_id: 'o-7', ticket: 'T-42', reason: 'FLOWD_ERR_COMPONENT_FAILED' });
      expect(upstream.count('POST /charges')).toBe(3);
      const calls = upstream.calls().map((c) => `${c.method} ${c.path}`);
      expect(calls.indexOf('DELETE /reservations/res-1')).toBeLessThan(calls.indexOf('POST /tickets'));
      expect(upstream.calls('POST /tickets')[0]?.body).toEqual({ order: 'o-7', reason: 'FLOWD_ERR_COMPONENT_FAILED in charge' });
    } finally {
      await saga.close();
    }
  });

  it('a timeout is recoverable too', async () => {
    upstream.script('POST /charges', { hang: true });
    const { engine: saga } = await buildEngine({
      flows: [{ ...orderSaga({ inventory: http(), payments: http() }), timeout_ms: 300 }, orderRescue(http())],
      egressAllow: ['127.0.0.1'],
    });
    try {
      const outcome = await placeOrderOrRecover(saga, order, () => {});
      expect(outcome).toMatchObject({ status: 'manual_review', reason: 'FLOWD_ERR_FLOW_TIMEOUT' });
    } finally {
      await saga.close();
    }
  });

  it('a non-recoverable failure (a 4xx) is rethrown after the rollback, no recovery', async () => {
    upstream.script('POST /charges', { status: 400 });
    const saga = await engine();
    try {
      const error = await placeOrderOrRecover(saga, order, () => {}).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(FlowExecutionError);
      expect((error as FlowExecutionError).isRecoverable).toBe(false);
      expect(upstream.count('DELETE /reservations/*')).toBe(1);
      expect(upstream.count('POST /tickets')).toBe(0);
    } finally {
      await saga.close();
    }
  });
});
