/**
 * The seed's "Error Handling Example", part 2: the recovery path.
 *
 *   except FlowExecutionError as e:
 *       await tx.rollback()
 *       if e.is_recoverable: return await execute_recovery_flow(e.context)
 *       else: raise
 *
 * `FlowExecutionError.isRecoverable` is true for timeouts, upstream 5xx/408/429 and network
 * failures, open circuits and full bulkheads; false for input, expression, egress and other 4xx
 * errors. Its `context` has the shape a recovery flow receives: `{ error, input, phases }`.
 *
 * The declarative way needs no code: `recovery_flow: order-recovery` in the flow file makes the
 * engine do exactly this after a failed execution (see test/engine/resilience/recovery.test.ts).
 *
 * Run it: npx tsx examples/recovery.ts
 */
import { pathToFileURL } from 'node:url';
import { buildEngine, FlowExecutionError, type FlowEngine } from '../src/index.js'; // in your project: from 'flowd'
import { orderSaga, placeOrder, type Order, type PlaceOrderResult } from './transaction.js';

/** Files a ticket so a person finishes the order; answers "manual review". */
export function orderRescue(tickets: Record<string, unknown> = defaultTickets): Record<string, unknown> {
  return {
    name: 'order-rescue',
    input: { type: 'object', required: ['error', 'input'], properties: { error: { type: 'object' }, input: { type: 'object' }, phases: { type: 'object' } } },
    components: { tickets },
    phases: [
      {
        id: 'ticket',
        component: 'tickets',
        request: { method: 'POST', path: '/tickets', body: { order: '{% input.input.order_id %}', reason: "{% input.error.code & ' in ' & input.error.phase %}" } },
        output: '{% result.body %}',
      },
    ],
    output: "{% {'status': 'manual_review', 'order_id': input.input.order_id, 'ticket': phases.ticket.ticket, 'reason': input.error.code} %}",
  };
}

const defaultTickets = { adapter: 'mock', responses: { default: { status: 201, body: "{% {'ticket': 'T-' & request.body.order} %}" } } };

export type OrderOutcome = PlaceOrderResult | { readonly status: 'manual_review'; readonly ticket: string; readonly reason: string; readonly order_id: string };

/** `execute_recovery_flow(e.context)`: runs the recovery flow and returns its output. */
export async function executeRecoveryFlow(engine: FlowEngine, context: Record<string, unknown>): Promise<unknown> {
  const record = await engine.execute('order-rescue', { error: context['error'], input: context['input'], phases: context['phases'] });
  if (record.status !== 'succeeded') throw new Error(`recovery failed: ${record.error?.code ?? 'unknown'} (${record.error?.message ?? ''})`);
  return record.output;
}

/** Places the order; when it fails for a recoverable reason, answers through the recovery flow. */
export async function placeOrderOrRecover(engine: FlowEngine, order: Order, log: (line: string) => void = console.error): Promise<OrderOutcome> {
  try {
    return await placeOrder(engine, order, log); // rolls back before rethrowing
  } catch (error) {
    if (error instanceof FlowExecutionError && error.isRecoverable) {
      return (await executeRecoveryFlow(engine, error.context)) as OrderOutcome;
    }
    throw error;
  }
}

export async function main(log: (line: string) => void = console.log): Promise<OrderOutcome> {
  // The payment provider is down (503 on every call): the charge fails after its retries.
  const payments = { adapter: 'mock', responses: { default: { status: 503 } } };
  const { engine } = await buildEngine({ flows: [orderSaga({ payments }), orderRescue()], random: () => 0 });
  try {
    const outcome = await placeOrderOrRecover(engine, { order_id: 'o-2', sku: 'B-7', qty: 1 }, log);
    log(`outcome: ${JSON.stringify(outcome)}`);
    return outcome;
  } finally {
    await engine.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
