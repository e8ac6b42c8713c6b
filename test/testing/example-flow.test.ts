// The README's complete test of an example flow, written with the test kit only.
// In your own project the import is: from 'flowd/testing'.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFlows, mockComponent, mockComponentFailure, type FlowTestKit } from '../../src/testing/index.js';

describe('order-fulfillment', () => {
  let kit: FlowTestKit;

  beforeAll(async () => {
    kit = await loadFlows({ flowsDir: 'flows' });
  });
  afterAll(() => kit.close());

  it('reserves every line, charges, enriches and ships', async () => {
    const result = await kit.runExample('order-fulfillment', 'two-lines');

    expect(result.success).toBe(true);
    expect(result.errorHandled).toBe(false);
    expect(result.output).toEqual({
      order_id: 'o-1001',
      tier: 'standard',
      reservations: ['res-A-1', 'res-B-7'],
      charge: 'ch-o-1001',
      fraud_score: 0.07,
      loyalty_points: 20,
      tracking: 'TRK-o-1001',
    });
    expect(result.phases('reserve_line')).toHaveLength(2);
    expect(result.phase('charge_route').branch).toBe('otherwise');
    expect(result.executionTime).toBeLessThan(5000);
  });

  it('takes the priority lane for gold customers', async () => {
    const result = await kit.runExample('order-fulfillment', 'gold-customer');

    expect(result.success).toBe(true);
    expect(result.phase('charge_route').branch).toBe('gold');
    expect(result.ran('charge')).toBe(false);
    expect(result.calls('payments').map((call) => call.phase)).toContain('charge_priority');
  });

  it('uses a canned answer of the customer directory', async () => {
    const result = await kit.runExample('order-fulfillment', 'two-lines', {
      mocks: [mockComponent('customers', { body: { id: 'c-42', tier: 'gold' } })],
    });

    expect(result.success).toBe(true);
    expect(result.phase('charge_route').branch).toBe('gold');
    expect(result.calls('customers')).toMatchObject([{ mocked: true, request: { method: 'GET', path: '/customers/c-42' } }]);
  });

  it('falls back to the standard tier when the customer directory is down', async () => {
    const result = await kit.runExample('order-fulfillment', 'gold-customer', {
      mocks: [mockComponentFailure('customers', { status: 503 })],
    });

    expect(result.success).toBe(true);
    expect(result.errorHandled).toBe(true);
    expect(result.fallbackExecuted).toBe(true);
    expect(result.phase('customer').attempts).toBe(3);
    expect(result.phase('customer').fallback).toBe(true);
    expect(result.phase('charge_route').branch).toBe('otherwise');
  });

  it('retries a flaky payment provider and succeeds', async () => {
    const result = await kit.runExample('order-fulfillment', 'two-lines', {
      mocks: [mockComponentFailure('payments', { status: 503, times: 2, phase: 'charge' })],
    });

    expect(result.success).toBe(true);
    expect(result.phase('charge').attempts).toBe(3);
    expect(result.calls('payments').filter((call) => call.phase === 'charge').map((call) => call.errorCode)).toEqual([
      'FLOWD_ERR_COMPONENT_FAILED',
      'FLOWD_ERR_COMPONENT_FAILED',
      undefined,
    ]);
  });

  it('undoes reservations and the charge when shipping fails, and files a ticket', async () => {
    const result = await kit.runExample('order-fulfillment', 'two-lines', {
      mocks: [mockComponentFailure('shipping', { status: 503 })],
    });

    expect(result.success).toBe(false);
    expect(result.status).toBe('compensated');
    expect(result.errorHandled).toBe(true);
    expect(result.error).toMatchObject({ code: 'FLOWD_ERR_COMPONENT_FAILED', phase: 'ship', status: 503 });
    // Newest first: the charge, then both reservations (in whichever order they completed).
    expect(result.compensations[0]).toMatchObject({ phase: 'charge', status: 'succeeded' });
    expect(result.compensations.slice(1).map((c) => `${c.phase}#${c.index}:${c.status}`).sort()).toEqual(['reserve_line#0:succeeded', 'reserve_line#1:succeeded']);
    expect(result.calls('inventory').filter((call) => (call.request as { method?: string }).method === 'DELETE')).toHaveLength(2);
    // The recovery flow answered instead: the caller gets a ticket, not an error.
    expect(result.recovered).toBe(true);
    expect(result.output).toMatchObject({ order_id: 'o-1001', status: 'manual_review' });
    expect(result.execution('order-recovery')?.status).toBe('succeeded');
  });

  it('refuses an input that does not match the schema before anything runs', async () => {
    await expect(kit.run('order-fulfillment', { order_id: 'o-1' })).rejects.toMatchObject({ code: 'FLOWD_ERR_INPUT_INVALID' });
  });
});
