/** examples/transaction.ts: phases one by one, commit on success, rollback (newest first) on failure. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildEngine, FlowExecutionError } from '../../src/index.js';
import { main, orderSaga, placeOrder } from '../../examples/transaction.js';
import { startFaultUpstream, type FaultUpstream, type UpstreamCall } from '../helpers/fault-upstream.js';

let upstream: FaultUpstream;
beforeAll(async () => {
  upstream = await startFaultUpstream();
});
afterAll(async () => {
  await upstream.close();
});
beforeEach(() => {
  upstream.reset();
  upstream.script('POST /reservations', { status: 201, body: (call: UpstreamCall) => ({ reservation: `res-${(call.body as { sku: string }).sku}` }) });
  upstream.script('DELETE /reservations/*', { status: 204 });
  upstream.script('POST /charges', { status: 201, body: { charge: 'ch-9' } });
});

const http = () => ({ adapter: 'http', base_url: upstream.url });
const order = { order_id: 'o-9', sku: 'A-1', qty: 2 };

async function engine() {
  return (await buildEngine({ flows: [orderSaga({ inventory: http(), payments: http() })], egressAllow: ['127.0.0.1'], random: () => 0 })).engine;
}

describe('examples/transaction.ts', () => {
  it('main() places an order out of the box', async () => {
    const placed = await main(() => {});
    expect(placed).toMatchObject({ status: 'placed', charge: { charge: 'ch-o-1' } });
  });

  it('commits when both phases succeed: phase 2 got phase 1’s result, nothing undone', async () => {
    const saga = await engine();
    try {
      const placed = await placeOrder(saga, order, () => {});
      expect(placed).toMatchObject({ status: 'placed', charge: { charge: 'ch-9' } });
      expect(upstream.calls('POST /charges')[0]?.body).toEqual({ order: 'o-9', reservation: 'res-A-1' });
      expect(upstream.count('DELETE /reservations/*')).toBe(0);
    } finally {
      await saga.close();
    }
  });

  it('rolls back the reservation when the charge fails, logs, and rethrows the FlowExecutionError', async () => {
    upstream.script('POST /charges', { status: 402 });
    const saga = await engine();
    const logged: string[] = [];
    try {
      const error = await placeOrder(saga, order, (line) => logged.push(line)).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(FlowExecutionError);
      expect(error).toMatchObject({ code: 'FLOWD_ERR_COMPONENT_FAILED', phase: 'charge', isRecoverable: false });
      expect(upstream.calls('DELETE /reservations/*').map((c) => c.path)).toEqual(['/reservations/res-A-1']);
      expect(logged).toEqual(['order o-9: phase "charge" failed (FLOWD_ERR_COMPONENT_FAILED) after 1 attempt(s); undone: reserve=succeeded']);
    } finally {
      await saga.close();
    }
  });
});
