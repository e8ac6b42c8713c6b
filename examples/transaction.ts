/**
 * The seed's "Error Handling Example", part 1: a transaction that executes phases one by one and
 * commits or rolls back.
 *
 *   async with flow_manager.transaction() as tx:
 *       intermediate_result = await tx.execute_phase("phase1", input_data)
 *       final_result = await tx.execute_phase("phase2", intermediate_result)
 *       await tx.commit()
 *   except FlowExecutionError as e:
 *       await tx.rollback()
 *
 * `engine.transaction(flow)` runs the flow's top-level phases when the caller asks, each with the
 * phase's own policies (retry, timeouts, breaker, cache, fallback). Every completed phase that
 * declares `compensate` is remembered; `rollback()` runs those compensations newest first, once
 * each, exactly as a `transactional: true` flow does on failure. A failed phase throws a
 * FlowExecutionError (code, phase, attempts, isRecoverable, context). What to do when the error
 * is recoverable is in examples/recovery.ts.
 *
 * Run it: npx tsx examples/transaction.ts
 */
import { pathToFileURL } from 'node:url';
import { buildEngine, FlowExecutionError, type FlowEngine } from '../src/index.js'; // in your project: from 'flowd'

export interface Order {
  readonly order_id: string;
  readonly sku: string;
  readonly qty: number;
}

/** The order saga: reserve stock, then charge; both undoable. Components default to mocks. */
export function orderSaga(components: { inventory?: Record<string, unknown>; payments?: Record<string, unknown> } = {}): Record<string, unknown> {
  return {
    name: 'order-saga',
    input: {
      type: 'object',
      required: ['order_id', 'sku', 'qty'],
      properties: { order_id: { type: 'string' }, sku: { type: 'string' }, qty: { type: 'integer', minimum: 1 } },
    },
    timeout_ms: 10_000,
    components: {
      inventory: components.inventory ?? {
        adapter: 'mock',
        responses: {
          'POST /reservations': { status: 201, body: "{% {'reservation': 'res-' & request.body.sku, 'qty': request.body.qty} %}" },
          default: { status: 204 },
        },
      },
      payments: components.payments ?? {
        adapter: 'mock',
        responses: { 'POST /charges': { status: 201, body: "{% {'charge': 'ch-' & request.body.order} %}" }, default: { status: 204 } },
      },
    },
    phases: [
      {
        id: 'reserve',
        component: 'inventory',
        request: { method: 'POST', path: '/reservations', body: { sku: '{% input.sku %}', qty: '{% input.qty %}' } },
        output: '{% result.body %}',
        compensate: { request: { method: 'DELETE', path: "{% '/reservations/' & output.reservation %}" } },
      },
      {
        id: 'charge',
        component: 'payments',
        // phase 2's input is phase 1's result (plus the order), as in the seed
        request: { method: 'POST', path: '/charges', body: { order: '{% input.order_id %}', reservation: '{% input.reservation %}' } },
        output: '{% result.body %}',
        compensate: { request: { method: 'POST', path: "{% '/refunds/' & output.charge %}" } },
      },
    ],
  };
}

export type PlaceOrderResult = { readonly status: 'placed'; readonly charge: unknown; readonly executionId: string };

/**
 * Places an order phase by phase. Commits when both phases succeed; otherwise rolls back what was
 * done and rethrows (a FlowExecutionError for a phase failure).
 */
export async function placeOrder(engine: FlowEngine, order: Order, log: (line: string) => void = console.error): Promise<PlaceOrderResult> {
  const tx = engine.transaction('order-saga', { input: order });
  try {
    const intermediate = (await tx.executePhase('reserve', order)) as { reservation: string };
    const charge = await tx.executePhase('charge', { ...order, reservation: intermediate.reservation });
    await tx.commit();
    return { status: 'placed', charge, executionId: tx.executionId };
  } catch (error) {
    const compensations = await tx.rollback();
    if (error instanceof FlowExecutionError) {
      log(`order ${order.order_id}: phase "${error.phase}" failed (${error.code}) after ${error.attempts} attempt(s); undone: ${compensations.map((c) => `${c.phase}=${c.status}`).join(', ') || 'nothing'}`);
    }
    throw error;
  }
}

export async function main(log: (line: string) => void = console.log): Promise<PlaceOrderResult> {
  const { engine } = await buildEngine({ flows: [orderSaga()] });
  try {
    const placed = await placeOrder(engine, { order_id: 'o-1', sku: 'A-1', qty: 2 }, log);
    log(`placed: ${JSON.stringify(placed)}`);
    return placed;
  } finally {
    await engine.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
