/**
 * engine.transaction(flow): phases one at a time under the caller's control, then commit or
 * rollback (the engine's compensations, newest first, once each). Against a real upstream.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FlowNotFoundError } from '../../src/engine/flow-engine.js';
import { withTransaction } from '../../src/engine/transaction.js';
import { FlowExecutionError, InputValidationError, isFlowdError } from '../../src/errors.js';
import { failTimes, ok, startFaultUpstream, type FaultUpstream, type UpstreamCall } from '../helpers/fault-upstream.js';
import { engineWith, httpComponent, recordCollector } from './resilience/helpers.js';

let upstream: FaultUpstream;
beforeAll(async () => {
  upstream = await startFaultUpstream();
});
afterAll(async () => {
  await upstream.close();
});
beforeEach(() => {
  upstream.reset();
  upstream.script('POST /reservations', { status: 201, body: (call: UpstreamCall) => ({ id: `res-${(call.body as { sku: string }).sku}` }) });
  upstream.script('DELETE /reservations/*', { status: 204 });
  upstream.script('POST /charges', { status: 201, body: (call: UpstreamCall) => ({ charge: `ch-${(call.body as { order: string }).order}` }) });
  upstream.script('POST /refunds/*', ok());
});

/** Not marked transactional: a transaction records compensations anyway. */
const shop = (extra: Record<string, unknown> = {}) => ({
  name: 'shop',
  input: { type: 'object', required: ['order'], properties: { order: { type: 'string' } } },
  components: { api: httpComponent(upstream) },
  phases: [
    {
      id: 'reserve',
      component: 'api',
      request: { method: 'POST', path: '/reservations', body: { sku: '{% input.sku %}' } },
      output: '{% result.body %}',
      compensate: { request: { method: 'DELETE', path: "{% '/reservations/' & output.id %}" } },
    },
    {
      id: 'charge',
      component: 'api',
      // reads its own input and the earlier phase's output
      request: { method: 'POST', path: '/charges', body: { order: '{% input.order %}', reservation: '{% phases.reserve.id %}' } },
      output: '{% result.body %}',
      compensate: { request: { method: 'POST', path: "{% '/refunds/' & output.charge %}" } },
    },
  ],
  ...extra,
});

const undo = (): string[] => upstream.calls().filter((c) => c.method === 'DELETE' || c.path.startsWith('/refunds')).map((c) => `${c.method} ${c.path}`);

describe('FlowTransaction', () => {
  it('runs phases one by one, each seeing its input and the earlier outputs; commit keeps everything', async () => {
    const collector = recordCollector();
    const engine = await engineWith([shop()], { observer: collector.observer });

    const tx = engine.transaction('shop');
    const reservation = await tx.executePhase('reserve', { sku: 'A' });
    const charge = await tx.executePhase('charge', { order: 'o-1' });
    const record = await tx.commit();

    expect(reservation).toEqual({ id: 'res-A' });
    expect(charge).toEqual({ charge: 'ch-o-1' });
    expect(upstream.calls('POST /charges')[0]?.body).toEqual({ order: 'o-1', reservation: 'res-A' });
    expect(record).toMatchObject({ executionId: tx.executionId, flow: 'shop', status: 'succeeded', output: { charge: 'ch-o-1' }, input: { sku: 'A' } });
    expect(record.phases.map((p) => `${p.id}:${p.status}`)).toEqual(['reserve:succeeded', 'charge:succeeded']);
    expect(tx.state).toBe('committed');
    expect(undo()).toEqual([]);
    expect(collector.records.map((r) => r.status)).toEqual(['succeeded']);
    await expect(tx.rollback()).rejects.toMatchObject({ code: 'FLOWD_ERR_REQUEST_INVALID' });
  });

  it('rollback undoes the completed phases newest first, once each', async () => {
    const engine = await engineWith([shop()]);

    const tx = engine.transaction('shop');
    await tx.executePhase('reserve', { sku: 'A' });
    await tx.executePhase('charge', { order: 'o-2' });
    const compensations = await tx.rollback();
    const again = await tx.rollback();

    expect(undo()).toEqual(['POST /refunds/ch-o-2', 'DELETE /reservations/res-A']);
    expect(compensations.map((c) => `${c.phase}:${c.status}`)).toEqual(['charge:succeeded', 'reserve:succeeded']);
    expect(again).toBe(compensations);
    expect(tx.record.status).toBe('compensated');
    expect(tx.record.phases.map((p) => p.status)).toEqual(['compensated', 'compensated']);
    expect(tx.state).toBe('rolled_back');
    await expect(tx.executePhase('reserve', { sku: 'B' })).rejects.toMatchObject({ code: 'FLOWD_ERR_REQUEST_INVALID' });
  });

  it('a failing phase throws FlowExecutionError (recoverable for a 503, with a recovery context); rollback undoes the rest', async () => {
    upstream.script('POST /charges', { status: 503 });
    const engine = await engineWith([shop()]);

    const tx = engine.transaction('shop', { input: { order: 'o-3' } });
    await tx.executePhase('reserve', { sku: 'A' });
    const error = await tx.executePhase('charge', { order: 'o-3' }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(FlowExecutionError);
    const failure = error as FlowExecutionError;
    expect(failure).toMatchObject({ code: 'FLOWD_ERR_COMPONENT_FAILED', phase: 'charge', attempts: 3, isRecoverable: true });
    expect(isFlowdError(failure.cause) && failure.cause.code).toBe('FLOWD_ERR_COMPONENT_FAILED');
    expect(failure.context).toMatchObject({
      executionId: tx.executionId,
      flow: 'shop',
      input: { order: 'o-3' },
      phases: { reserve: { id: 'res-A' } },
      error: { code: 'FLOWD_ERR_COMPONENT_FAILED', phase: 'charge', status: 503 },
    });
    expect(tx.state).toBe('failed');
    await expect(tx.commit()).rejects.toMatchObject({ code: 'FLOWD_ERR_REQUEST_INVALID' });

    await tx.rollback();
    expect(undo()).toEqual(['DELETE /reservations/res-A']);
    expect(tx.record).toMatchObject({ status: 'compensated', errorHandled: true, error: { code: 'FLOWD_ERR_COMPONENT_FAILED', phase: 'charge' } });
  });

  it('a 4xx failure is not recoverable', async () => {
    upstream.script('POST /reservations', { status: 409 });
    const engine = await engineWith([shop()]);

    const tx = engine.transaction('shop');
    const error = (await tx.executePhase('reserve', { sku: 'A' }).catch((e: unknown) => e)) as FlowExecutionError;
    await tx.rollback();

    expect(error.isRecoverable).toBe(false);
    expect(upstream.count('POST /reservations')).toBe(1);
    expect(tx.record.status).toBe('failed');
  });

  it('has the flow deadline: a hanging phase fails with FLOWD_ERR_FLOW_TIMEOUT and the call is aborted', async () => {
    upstream.script('POST /charges', { hang: true });
    const engine = await engineWith([shop({ timeout_ms: 300 })]);

    const tx = engine.transaction('shop');
    await tx.executePhase('reserve', { sku: 'A' });
    const error = (await tx.executePhase('charge', { order: 'o-4' }).catch((e: unknown) => e)) as FlowExecutionError;
    await tx.rollback();

    expect(error).toMatchObject({ code: 'FLOWD_ERR_FLOW_TIMEOUT', phase: 'charge', isRecoverable: true });
    expect(tx.record.status).toBe('compensated');
    await upstream.waitForAbort('POST /charges');
  });

  it('retries inside a phase as usual and keys each run of a phase separately', async () => {
    upstream.script('POST /reservations', failTimes(1), { status: 201, body: { id: 'res-X' } });
    const engine = await engineWith([shop()]);

    const tx = engine.transaction('shop');
    await tx.executePhase('reserve', { sku: 'A' });
    await tx.executePhase('reserve', { sku: 'B' });
    await tx.rollback();

    const keys = upstream.calls('POST /reservations').map((c) => c.headers['idempotency-key']);
    expect(keys).toEqual([`${tx.executionId}:reserve`, `${tx.executionId}:reserve`, `${tx.executionId}:reserve@1`]);
    expect(upstream.calls('DELETE /reservations/*').map((c) => c.headers['idempotency-key'])).toEqual([
      `${tx.executionId}:reserve@1:compensate`,
      `${tx.executionId}:reserve:compensate`,
    ]);
  });

  it('rejects an unknown phase, an unknown flow and invalid transaction input', async () => {
    const engine = await engineWith([shop()]);

    await expect(engine.transaction('shop').executePhase('nope', {})).rejects.toMatchObject({ code: 'FLOWD_ERR_REQUEST_INVALID' });
    expect(() => engine.transaction('missing')).toThrow(FlowNotFoundError);
    expect(() => engine.transaction('shop', { input: { order: 7 } })).toThrow(InputValidationError);
  });

  it('withTransaction commits when the body returns and rolls back when it throws', async () => {
    const engine = await engineWith([shop()]);

    const output = await withTransaction(engine, 'shop', async (tx) => {
      await tx.executePhase('reserve', { sku: 'A' });
      return tx.executePhase('charge', { order: 'o-5' });
    });
    expect(output).toEqual({ charge: 'ch-o-5' });
    expect(undo()).toEqual([]);

    const thrown = await withTransaction(engine, 'shop', async (tx) => {
      await tx.executePhase('reserve', { sku: 'B' });
      throw new Error('the caller changed its mind');
    }).catch((e: unknown) => e);
    expect((thrown as Error).message).toBe('the caller changed its mind');
    expect(undo()).toEqual(['DELETE /reservations/res-B']);
  });
});
