/**
 * Recovery flows: run when a flow fails with a recoverable error (timeouts, 5xx, open circuits),
 * or with one of the codes listed in `on:`; they receive { error, input, phases }; the response
 * carries their output and `recovered: true`; depth 1; the original error stays as `cause`.
 */
import { describe, expect, it } from 'vitest';
import { InputValidationError, isFlowdError } from '../../../src/errors.js';
import { ok } from '../../helpers/fault-upstream.js';
import { engineWith, httpComponent, recordCollector, useFaultUpstream } from './helpers.js';

const upstream = useFaultUpstream();

const main = (extra: Record<string, unknown> = {}) => ({
  name: 'main',
  input: { type: 'object', required: ['order'], properties: { order: { type: 'string' } } },
  recovery_flow: 'rescue',
  components: { api: httpComponent(upstream) },
  phases: [
    { id: 'lookup', component: 'api', request: { path: '/lookup' }, output: '{% result.body %}' },
    { id: 'pay', component: 'api', request: { method: 'POST', path: '/pay' }, retry_policy: { max_attempts: 1 } },
  ],
  ...extra,
});

/** Files a ticket upstream with what it was given and answers "manual review". */
const rescue = (extra: Record<string, unknown> = {}) => ({
  name: 'rescue',
  components: { tickets: httpComponent(upstream) },
  phases: [
    {
      id: 'ticket',
      component: 'tickets',
      request: { method: 'POST', path: '/tickets', body: '{% input %}' },
      output: '{% result.body %}',
    },
  ],
  output: "{% {'status': 'manual_review', 'ticket': phases.ticket.id, 'reason': input.error.code, 'failedPhase': input.error.phase} %}",
  ...extra,
});

describe('recovery flow', () => {
  it('runs on a recoverable failure (upstream 503) with { error, input, phases } and answers for the flow', async () => {
    upstream.script('GET /lookup', ok({ customer: 'c-9' }));
    upstream.script('POST /pay', { status: 503 });
    upstream.script('POST /tickets', { status: 201, body: { id: 'T-1' } });
    const collector = recordCollector();
    const engine = await engineWith([main(), rescue()], { observer: collector.observer });

    const record = await engine.execute('main', { order: 'o-1' });

    expect(record.recovered).toBe(true);
    expect(record.errorHandled).toBe(true);
    expect(record.status).toBe('failed');
    expect(record.output).toEqual({ status: 'manual_review', ticket: 'T-1', reason: 'FLOWD_ERR_COMPONENT_FAILED', failedPhase: 'pay' });
    expect(record.error).toMatchObject({ code: 'FLOWD_ERR_COMPONENT_FAILED', phase: 'pay', status: 503 });
    const sent = upstream.calls('POST /tickets')[0]?.body as Record<string, unknown>;
    expect(sent['input']).toEqual({ order: 'o-1' });
    expect(sent['phases']).toEqual({ lookup: { customer: 'c-9' } });
    expect(sent['error']).toMatchObject({ code: 'FLOWD_ERR_COMPONENT_FAILED', phase: 'pay', status: 503, recoverable: true });
    const child = collector.records.find((r) => r.flow === 'rescue');
    expect(record.recoveryExecutionId).toBe(child?.executionId);
    expect(child?.parentId).toBe(record.executionId);
  });

  it('runs after a flow deadline (timeouts are recoverable)', async () => {
    upstream.script('GET /lookup', ok({}));
    upstream.script('POST /pay', { hang: true });
    upstream.script('POST /tickets', { status: 201, body: { id: 'T-2' } });
    const engine = await engineWith([main({ timeout_ms: 200 }), rescue()]);

    const record = await engine.execute('main', { order: 'o-2' });

    expect(record.status).toBe('timed_out');
    expect(record.recovered).toBe(true);
    expect(record.output).toMatchObject({ reason: 'FLOWD_ERR_FLOW_TIMEOUT', failedPhase: 'pay' });
  });

  it('does not run for a non-recoverable failure (a 4xx answer)', async () => {
    upstream.script('GET /lookup', ok({}));
    upstream.script('POST /pay', { status: 422 });
    const engine = await engineWith([main(), rescue()]);

    const record = await engine.execute('main', { order: 'o-3' });

    expect(record.recovered).toBe(false);
    expect(record.recoveryExecutionId).toBeUndefined();
    expect(record.error).toMatchObject({ code: 'FLOWD_ERR_COMPONENT_FAILED', recoverable: false });
    expect(upstream.count('POST /tickets')).toBe(0);
  });

  it('does not run for an expression error', async () => {
    upstream.script('GET /lookup', ok({}));
    const engine = await engineWith([
      main({ phases: [{ id: 'lookup', component: 'api', request: { path: '{% input.nothing %}' } }] }),
      rescue(),
    ]);

    const record = await engine.execute('main', { order: 'o-4' });

    expect(record.error?.code).toBe('FLOWD_ERR_EXPRESSION_FAILED');
    expect(record.recovered).toBe(false);
    expect(upstream.count()).toBe(0);
  });

  it('does not run for invalid input: nothing ran, execute throws InputValidationError', async () => {
    const collector = recordCollector();
    const engine = await engineWith([main(), rescue()], { observer: collector.observer });

    const thrown = await engine.execute('main', { order: 42 }).catch((error: unknown) => error);

    expect(thrown).toBeInstanceOf(InputValidationError);
    expect(isFlowdError(thrown) && thrown.code).toBe('FLOWD_ERR_INPUT_INVALID');
    expect(collector.records).toEqual([]);
    expect(upstream.count()).toBe(0);
  });

  it('`on:` overrides which codes recover: a listed non-recoverable code recovers…', async () => {
    upstream.script('GET /lookup', ok({}));
    upstream.script('POST /pay', { status: 404 });
    upstream.script('POST /tickets', { status: 201, body: { id: 'T-5' } });
    const engine = await engineWith([main({ recovery_flow: { flow: 'rescue', on: ['FLOWD_ERR_COMPONENT_FAILED'] } }), rescue()]);

    const record = await engine.execute('main', { order: 'o-5' });

    expect(record.recovered).toBe(true);
    expect(record.output).toMatchObject({ ticket: 'T-5' });
  });

  it('…and an unlisted recoverable code does not', async () => {
    upstream.script('GET /lookup', ok({}));
    upstream.script('POST /pay', { status: 503 });
    const engine = await engineWith([main({ recovery_flow: { flow: 'rescue', on: ['FLOWD_ERR_FLOW_TIMEOUT'] } }), rescue()]);

    const record = await engine.execute('main', { order: 'o-6' });

    expect(record.recovered).toBe(false);
    expect(upstream.count('POST /tickets')).toBe(0);
  });

  it('a failing recovery keeps the original error as cause and starts no further recovery (depth 1)', async () => {
    upstream.script('GET /lookup', ok({}));
    upstream.script('POST /pay', { status: 503 });
    upstream.script('POST /tickets', { status: 500 });
    const collector = recordCollector();
    const engine = await engineWith(
      [
        main(),
        rescue({ recovery_flow: 'last-resort' }),
        { name: 'last-resort', phases: [{ id: 'noop', component: 'transform', request: 'should never run' }] },
      ],
      { observer: collector.observer },
    );

    const record = await engine.execute('main', { order: 'o-7' });

    expect(record.recovered).toBe(false);
    expect(record.status).toBe('failed');
    expect(record.error).toMatchObject({
      code: 'FLOWD_ERR_COMPONENT_FAILED',
      phase: 'ticket',
      status: 500,
      cause: expect.objectContaining({ code: 'FLOWD_ERR_COMPONENT_FAILED', phase: 'pay', status: 503 }),
    });
    expect(collector.records.map((r) => r.flow).sort()).toEqual(['main', 'rescue']);
  });

  it('runs after compensation in a transactional flow and sees the compensated outcome', async () => {
    upstream.script('GET /lookup', ok({ id: 'L-1' }));
    upstream.script('POST /undo', ok());
    upstream.script('POST /pay', { status: 503 });
    upstream.script('POST /tickets', { status: 201, body: { id: 'T-8' } });
    const engine = await engineWith([
      main({
        transactional: true,
        phases: [
          { id: 'lookup', component: 'api', request: { path: '/lookup' }, output: '{% result.body %}', compensate: { request: { method: 'POST', path: '/undo' } } },
          { id: 'pay', component: 'api', request: { method: 'POST', path: '/pay' }, retry_policy: { max_attempts: 1 } },
        ],
      }),
      rescue(),
    ]);

    const record = await engine.execute('main', { order: 'o-8' });

    expect(record.status).toBe('compensated');
    expect(record.recovered).toBe(true);
    expect(record.output).toMatchObject({ ticket: 'T-8' });
    const order = upstream.calls().map((c) => c.path);
    expect(order.indexOf('/undo')).toBeLessThan(order.indexOf('/tickets'));
  });
});
