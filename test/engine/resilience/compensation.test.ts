/**
 * Transactions (saga): when a transactional flow fails, the compensations of the phases that
 * completed run once each, newest first, each under its own retry policy and time budget,
 * continuing past a failed one; the execution ends `compensated` or `compensation_failed`.
 */
import { describe, expect, it } from 'vitest';
import type { CompensationEvent, Middleware } from '../../../src/engine/middleware.js';
import { failTimes, ok, type UpstreamCall } from '../../helpers/fault-upstream.js';
import { engineWith, httpComponent, phase, useFaultUpstream } from './helpers.js';

const upstream = useFaultUpstream();

/** The happy-path answers of the shop upstream; a test then overrides the route it breaks. */
function scriptShop(): void {
  upstream.script('POST /reservations', { status: 201, body: (call: UpstreamCall) => ({ id: `res-${(call.body as { sku: string }).sku}` }) });
  upstream.script('DELETE /reservations/*', { status: 204 });
  upstream.script('POST /holds', { status: 201, body: { hold: 'h-1' } });
  upstream.script('POST /holds/release', ok({ released: true }));
  upstream.script('POST /charges', { status: 201, body: { charge: 'ch-1' } });
}

/** reserve (map, one line at a time) → hold → charge; each undoable. */
function orderFlow(overrides: { charge?: Record<string, unknown>; hold?: Record<string, unknown>; flow?: Record<string, unknown> } = {}) {
  return {
    name: 'order',
    transactional: true,
    components: { shop: httpComponent(upstream), audit: httpComponent(upstream) },
    phases: [
      {
        id: 'reserve',
        map: {
          items: '{% input.items %}',
          concurrency: 1,
          phases: [
            {
              id: 'reserve_line',
              component: 'shop',
              request: { method: 'POST', path: '/reservations', body: { sku: '{% item %}' } },
              output: '{% result.body %}',
              compensate: { request: { method: 'DELETE', path: "{% '/reservations/' & output.id %}" } },
            },
          ],
        },
      },
      {
        id: 'hold',
        component: 'shop',
        request: { method: 'POST', path: '/holds', body: { order: '{% input.order %}' } },
        output: '{% result.body %}',
        // The compensation sees the phase's request and output.
        compensate: { request: { method: 'POST', path: '/holds/release', body: { hold: '{% output.hold %}', order: '{% request.body.order %}' } } },
        ...overrides.hold,
      },
      {
        id: 'charge',
        component: 'shop',
        request: { method: 'POST', path: '/charges', body: { order: '{% input.order %}' } },
        compensate: { request: { method: 'POST', path: '/refunds' } },
        ...overrides.charge,
      },
    ],
    ...overrides.flow,
  };
}

const input = { order: 'o-1', items: ['A', 'B'] };

function compensationSpy(): Middleware & { events: CompensationEvent['compensation'][] } {
  const events: CompensationEvent['compensation'][] = [];
  return { name: 'compensation-spy', events, onCompensation: (event) => void events.push({ ...event.compensation }) };
}

const undoCalls = (): string[] =>
  upstream
    .calls()
    .filter((c) => c.method === 'DELETE' || c.path === '/holds/release' || c.path === '/refunds' || c.path === '/audit/undo')
    .map((c) => `${c.method} ${c.path}`);

describe('compensation', () => {
  it('undoes the completed phases newest first, once each; the execution ends compensated', async () => {
    scriptShop();
    upstream.script('POST /charges', { status: 402, body: { reason: 'card declined' } });
    const spy = compensationSpy();
    const engine = await engineWith([orderFlow()], { middleware: [spy] });

    const record = await engine.execute('order', input);

    expect(record.status).toBe('compensated');
    expect(record.errorHandled).toBe(true);
    expect(record.error).toMatchObject({ code: 'FLOWD_ERR_COMPONENT_FAILED', phase: 'charge', status: 402 });
    expect(undoCalls()).toEqual(['POST /holds/release', 'DELETE /reservations/res-B', 'DELETE /reservations/res-A']);
    expect(upstream.calls('POST /holds/release')[0]?.body).toEqual({ hold: 'h-1', order: 'o-1' });
    expect(record.compensations).toEqual([
      expect.objectContaining({ phase: 'hold', status: 'succeeded', attempts: 1 }),
      expect.objectContaining({ phase: 'reserve_line', index: 1, status: 'succeeded', attempts: 1 }),
      expect.objectContaining({ phase: 'reserve_line', index: 0, status: 'succeeded', attempts: 1 }),
    ]);
    expect(spy.events.map((e) => `${e.phase}${e.index === undefined ? '' : `#${e.index}`}:${e.status}`)).toEqual([
      'hold:succeeded',
      'reserve_line#1:succeeded',
      'reserve_line#0:succeeded',
    ]);
    expect(phase(record, 'hold').status).toBe('compensated');
    expect(phase(record, 'reserve_line', 0).status).toBe('compensated');
    expect(phase(record, 'reserve_line', 1).status).toBe('compensated');
    // the failed phase had nothing to undo
    expect(phase(record, 'charge').status).toBe('failed');
    expect(upstream.count('/refunds')).toBe(0);
  });

  it('sends each compensation with its own stable idempotency key', async () => {
    scriptShop();
    upstream.script('POST /charges', { status: 400 });
    const engine = await engineWith([orderFlow()]);

    const record = await engine.execute('order', input);

    const keys = upstream.calls().filter((c) => c.method === 'DELETE' || c.path === '/holds/release').map((c) => c.headers['idempotency-key']);
    expect(keys).toEqual([
      `${record.executionId}:hold:compensate`,
      `${record.executionId}:reserve_line#1:compensate`,
      `${record.executionId}:reserve_line#0:compensate`,
    ]);
  });

  it('a failing compensation does not stop the others; the execution ends compensation_failed, its error naming the compensation that failed', async () => {
    scriptShop();
    upstream.script('POST /charges', { status: 400 });
    upstream.script('POST /holds/release', { status: 500 });
    const engine = await engineWith([orderFlow()]);

    const record = await engine.execute('order', input);

    expect(record.status).toBe('compensation_failed');
    expect(record.error).toMatchObject({
      code: 'FLOWD_ERR_COMPENSATION_FAILED',
      phase: 'hold',
      message: expect.stringContaining('the compensation of phase "hold" failed (2 of 3 undone)'),
      cause: { code: 'FLOWD_ERR_COMPONENT_FAILED', phase: 'charge' },
    });
    // default retry: the release is tried 3 times, then the reservations are still undone
    expect(undoCalls()).toEqual([
      'POST /holds/release',
      'POST /holds/release',
      'POST /holds/release',
      'DELETE /reservations/res-B',
      'DELETE /reservations/res-A',
    ]);
    const failed = record.compensations?.filter((c) => c.status !== 'succeeded');
    expect(failed).toEqual([
      expect.objectContaining({ phase: 'hold', status: 'failed', attempts: 3, error: expect.objectContaining({ code: 'FLOWD_ERR_COMPONENT_FAILED', status: 500 }) }),
    ]);
    expect(phase(record, 'hold').status).toBe('succeeded');
    expect(phase(record, 'reserve_line', 0).status).toBe('compensated');
  });

  it('runs each compensation under its own retry policy', async () => {
    scriptShop();
    upstream.script('POST /charges', { status: 400 });
    upstream.script('POST /holds/release', failTimes(4, { status: 503 }), ok());
    const engine = await engineWith([
      orderFlow({
        hold: {
          compensate: { request: { method: 'POST', path: '/holds/release', body: { hold: '{% output.hold %}' } }, retry_policy: { max_attempts: 5 } },
        },
      }),
    ]);

    const record = await engine.execute('order', input);

    expect(record.status).toBe('compensated');
    expect(record.compensations?.[0]).toMatchObject({ phase: 'hold', status: 'succeeded', attempts: 5 });
  });

  it('bounds each compensation by its own timeout, then moves on', async () => {
    scriptShop();
    upstream.script('POST /charges', { status: 400 });
    upstream.script('POST /holds/release', { hang: true });
    const engine = await engineWith([
      orderFlow({
        hold: {
          compensate: { request: { method: 'POST', path: '/holds/release' }, timeout_ms: 100, retry_policy: { max_attempts: 1 } },
        },
      }),
    ]);

    const record = await engine.execute('order', input);

    expect(record.status).toBe('compensation_failed');
    expect(record.compensations?.[0]).toMatchObject({ phase: 'hold', status: 'failed', error: expect.objectContaining({ code: 'FLOWD_ERR_PHASE_TIMEOUT' }) });
    expect(record.compensations?.slice(1).map((c) => c.status)).toEqual(['succeeded', 'succeeded']);
    await upstream.waitForAbort('POST /holds/release');
  });

  it('can call another component (compensate.component)', async () => {
    scriptShop();
    upstream.script('POST /charges', { status: 400 });
    upstream.script('POST /audit/undo', ok());
    const engine = await engineWith([
      orderFlow({ hold: { compensate: { component: 'audit', request: { method: 'POST', path: '/audit/undo', body: { hold: '{% output.hold %}' } } } } }),
    ]);

    const record = await engine.execute('order', input);

    expect(record.status).toBe('compensated');
    expect(upstream.calls('POST /audit/undo')[0]?.body).toEqual({ hold: 'h-1' });
    expect(upstream.count('POST /holds/release')).toBe(0);
  });

  it('still undoes what completed when the flow ran out of time', async () => {
    scriptShop();
    upstream.script('POST /charges', { hang: true });
    const engine = await engineWith([orderFlow({ flow: { timeout_ms: 300 } })]);

    const record = await engine.execute('order', input);

    expect(record.error).toMatchObject({ code: 'FLOWD_ERR_FLOW_TIMEOUT', phase: 'charge' });
    expect(record.status).toBe('compensated');
    expect(undoCalls()).toEqual(['POST /holds/release', 'DELETE /reservations/res-B', 'DELETE /reservations/res-A']);
  });

  it('does not compensate a phase that fell back (it did nothing upstream)', async () => {
    scriptShop();
    upstream.script('POST /holds', { status: 503 });
    upstream.script('POST /charges', { status: 400 });
    const engine = await engineWith([orderFlow({ hold: { on_error: { fallback: { hold: 'none' } } } })]);

    const record = await engine.execute('order', input);

    expect(record.status).toBe('compensated');
    expect(upstream.count('POST /holds/release')).toBe(0);
    expect(record.compensations?.map((c) => c.phase)).toEqual(['reserve_line', 'reserve_line']);
  });

  it('undoes each pass of a phase a decision loop ran twice, with its own idempotency key', async () => {
    upstream.script('POST /steps', { status: 201, body: { more: true } }, { status: 201, body: { more: false } });
    upstream.script('POST /steps/undo', ok());
    upstream.script('POST /finish', { status: 400 });
    const engine = await engineWith([
      {
        name: 'loop',
        transactional: true,
        components: { api: httpComponent(upstream) },
        phases: [
          {
            id: 'step',
            component: 'api',
            request: { method: 'POST', path: '/steps' },
            output: '{% result.body %}',
            compensate: { request: { method: 'POST', path: '/steps/undo' } },
          },
          { id: 'again', decision: [{ when: '{% phases.step.more %}', goto: 'step', max_iterations: 3 }] },
          { id: 'finish', component: 'api', request: { method: 'POST', path: '/finish' } },
        ],
      },
    ]);

    const record = await engine.execute('loop', {});

    expect(record.status).toBe('compensated');
    expect(upstream.calls('POST /steps/undo').map((c) => c.headers['idempotency-key'])).toEqual([
      `${record.executionId}:step@1:compensate`,
      `${record.executionId}:step:compensate`,
    ]);
    expect(record.phases.filter((p) => p.id === 'step').map((p) => `${p.iteration ?? 0}:${p.status}`)).toEqual(['0:compensated', '1:compensated']);
  });

  it('does nothing when the flow is not transactional', async () => {
    scriptShop();
    upstream.script('POST /charges', { status: 400 });
    const engine = await engineWith([orderFlow({ flow: { transactional: false } })]);

    const record = await engine.execute('order', input);

    expect(record.status).toBe('failed');
    expect(record.compensations).toBeUndefined();
    expect(undoCalls()).toEqual([]);
  });

  it('does nothing when the flow succeeds', async () => {
    scriptShop();
    const engine = await engineWith([orderFlow()]);

    const record = await engine.execute('order', input);

    expect(record.status).toBe('succeeded');
    expect(undoCalls()).toEqual([]);
  });
});

