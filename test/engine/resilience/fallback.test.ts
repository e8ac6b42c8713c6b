/**
 * Graceful degradation: on a phase's final failure its `on_error.fallback` expression becomes
 * the output and the flow carries on; the record says so (`fallback`, `fallbackExecuted`,
 * `errorHandled`). A dying flow (deadline) does not fall back.
 */
import { describe, expect, it, vi } from 'vitest';
import { failTimes, ok } from '../../helpers/fault-upstream.js';
import { engineWith, httpComponent, phase, useFaultUpstream } from './helpers.js';

const upstream = useFaultUpstream();

/** customer (with a fallback) → greet (uses the customer's tier). */
const degradable = (phaseExtra: Record<string, unknown> = {}, flowExtra: Record<string, unknown> = {}, componentExtra: Record<string, unknown> = {}) => ({
  name: 'greet',
  components: { customers: httpComponent(upstream, componentExtra) },
  phases: [
    {
      id: 'customer',
      component: 'customers',
      request: { path: "{% '/customers/' & input.id %}" },
      output: '{% result.body %}',
      on_error: { fallback: "{% {'tier': 'standard', 'degraded': true, 'why': error.code, 'upstream': error.status, 'attempts': error.attempts} %}" },
      ...phaseExtra,
    },
    { id: 'greeting', component: 'transform', request: "{% 'hello ' & phases.customer.tier & ' customer' %}" },
  ],
  output: '{% phases.greeting %}',
  ...flowExtra,
});

describe('fallback', () => {
  it('uses the fallback after the retries are spent and carries on; the record says fallback/errorHandled', async () => {
    upstream.script('/customers/*', { status: 503 });
    const engine = await engineWith([degradable()]);

    const record = await engine.execute('greet', { id: 'c-1' });

    expect(upstream.count()).toBe(3);
    expect(record.status).toBe('succeeded');
    expect(record.output).toBe('hello standard customer');
    expect(record.fallbackExecuted).toBe(true);
    expect(record.errorHandled).toBe(true);
    expect(phase(record, 'customer')).toMatchObject({ status: 'succeeded', fallback: true, attempts: 3 });
    expect(phase(record, 'customer').error).toMatchObject({ code: 'FLOWD_ERR_COMPONENT_FAILED', status: 503 });
  });

  it('lets the fallback expression read the error (code, upstream status, attempts)', async () => {
    upstream.script('/customers/*', { status: 404 });
    const engine = await engineWith([degradable({}, { output: '{% phases.customer %}' })]);

    const record = await engine.execute('greet', { id: 'c-2' });

    // a 404 is not retried: 1 attempt
    expect(upstream.count()).toBe(1);
    expect(record.status).toBe('succeeded');
    expect(record.output).toEqual({ tier: 'standard', degraded: true, why: 'FLOWD_ERR_COMPONENT_FAILED', upstream: 404, attempts: 1 });
  });

  it('is not used when the phase succeeds', async () => {
    upstream.script('/customers/*', failTimes(1), ok({ tier: 'gold' }));
    const engine = await engineWith([degradable()]);

    const record = await engine.execute('greet', { id: 'c-3' });

    expect(record.output).toBe('hello gold customer');
    expect(record.fallbackExecuted).toBe(false);
    expect(record.errorHandled).toBe(false);
    expect(phase(record, 'customer').fallback).not.toBe(true);
  });

  it('covers an open circuit', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      upstream.script('/customers/*', { status: 503 });
      const engine = await engineWith([degradable({ retry_policy: { max_attempts: 1 } }, {}, { circuit_breaker: { consecutive_failures: 1 } })]);

      await engine.execute('greet', { id: 'c-4' });
      const record = await engine.execute('greet', { id: 'c-4' });

      expect(upstream.count()).toBe(1);
      expect(record.status).toBe('succeeded');
      expect(record.fallbackExecuted).toBe(true);
      expect(phase(record, 'customer').error?.code).toBe('FLOWD_ERR_CIRCUIT_OPEN');
    } finally {
      vi.useRealTimers();
    }
  });

  it('covers a phase deadline', async () => {
    upstream.script('/customers/*', { hang: true });
    const engine = await engineWith([degradable({ timeout_ms: 100 })]);

    const record = await engine.execute('greet', { id: 'c-5' });

    expect(record.status).toBe('succeeded');
    expect(record.fallbackExecuted).toBe(true);
    expect(phase(record, 'customer').error?.code).toBe('FLOWD_ERR_PHASE_TIMEOUT');
    await upstream.waitForAbort('/customers/*');
  });

  it('is not used when the whole flow runs out of time: the flow stops', async () => {
    upstream.script('/customers/*', { hang: true });
    const engine = await engineWith([degradable({}, { timeout_ms: 150 })]);

    const record = await engine.execute('greet', { id: 'c-6' });

    expect(record.status).toBe('timed_out');
    expect(record.error).toMatchObject({ code: 'FLOWD_ERR_FLOW_TIMEOUT', phase: 'customer' });
    expect(record.fallbackExecuted).toBe(false);
    expect(record.errorHandled).toBe(false);
  });

  it('a fallback expression that fails fails the phase with FLOWD_ERR_EXPRESSION_FAILED', async () => {
    upstream.script('/customers/*', { status: 500 });
    const engine = await engineWith([degradable({ on_error: { fallback: "{% $error('no fallback today') %}" } })]);

    const record = await engine.execute('greet', { id: 'c-7' });

    expect(record.status).toBe('failed');
    expect(record.error).toMatchObject({ code: 'FLOWD_ERR_EXPRESSION_FAILED', phase: 'customer' });
    expect(record.fallbackExecuted).toBe(false);
  });
});
