/**
 * Retry policy, proven against a real upstream: which failures are retried and how often, the
 * retry_policy settings and how they layer, and what each phase record reports. Timing
 * (Retry-After, backoff, budget_ms) is in retry-timing.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { ComponentAdapter } from '../../../src/adapters/types.js';
import { DEFAULT_RETRY } from '../../../src/engine/policies.js';
import { ComponentError, EgressDeniedError, ExpressionError, InputValidationError } from '../../../src/errors.js';
import { failTimes, ok } from '../../helpers/fault-upstream.js';
import { callFlow, engineWith, phase, retrySpy, useFaultUpstream } from './helpers.js';
import { z } from 'zod';

const upstream = useFaultUpstream();

describe('which failures are retried', () => {
  it('fails twice with 503 then succeeds: three attempts, one idempotency key, the phase reports 3 attempts', async () => {
    upstream.script('POST /charges', failTimes(2, { status: 503 }), ok({ id: 'ch-1' }, 201));
    const engine = await engineWith([callFlow(upstream, { method: 'POST', path: '/charges' })]);

    const record = await engine.execute('call', {});

    expect(record.status).toBe('succeeded');
    expect(record.output).toEqual({ id: 'ch-1' });
    expect(phase(record, 'call').attempts).toBe(3);
    const calls = upstream.calls('POST /charges');
    expect(calls).toHaveLength(3);
    const keys = new Set(calls.map((c) => c.headers['idempotency-key']));
    expect(keys.size).toBe(1);
    expect([...keys][0]).toBe(`${record.executionId}:call`);
  });

  it('makes at most 3 attempts by default, then fails with the upstream status', async () => {
    upstream.script('GET /thing', { status: 503 });
    const engine = await engineWith([callFlow(upstream)]);

    const record = await engine.execute('call', {});

    expect(DEFAULT_RETRY.maxAttempts).toBe(3);
    expect(upstream.count('GET /thing')).toBe(3);
    expect(record.status).toBe('failed');
    expect(record.error).toMatchObject({ code: 'FLOWD_ERR_COMPONENT_FAILED', phase: 'call', attempts: 3, status: 503 });
    expect(phase(record, 'call')).toMatchObject({ status: 'failed', attempts: 3 });
  });

  it.each([500, 502, 503, 504, 408, 429])('retries a %i answer', async (status) => {
    upstream.script('GET /thing', { status });
    const engine = await engineWith([callFlow(upstream)]);

    const record = await engine.execute('call', {});

    expect(upstream.count('GET /thing')).toBe(3);
    expect(record.error).toMatchObject({ code: 'FLOWD_ERR_COMPONENT_FAILED', status, attempts: 3 });
  });

  it.each([400, 401, 403, 404, 409, 422])('never retries a %i answer', async (status) => {
    upstream.script('GET /thing', { status, body: { problem: 'yours' } });
    const engine = await engineWith([callFlow(upstream)]);

    const record = await engine.execute('call', {});

    expect(upstream.count('GET /thing')).toBe(1);
    expect(record.error).toMatchObject({ code: 'FLOWD_ERR_COMPONENT_FAILED', status, attempts: 1, recoverable: false });
  });

  it('retries a connection reset (network error)', async () => {
    upstream.script('GET /thing', { reset: true }, { reset: true }, ok({ fine: true }));
    const engine = await engineWith([callFlow(upstream)]);

    const record = await engine.execute('call', {});

    expect(record.status).toBe('succeeded');
    expect(upstream.calls('GET /thing').map((c) => c.outcome)).toEqual(['reset', 'reset', 'answered']);
    expect(phase(record, 'call').attempts).toBe(3);
  });

  it('retries an attempt that timed out (hanging upstream, per-attempt timeout from the component)', async () => {
    upstream.script('GET /thing', { hang: true }, { hang: true }, ok({ late: false }));
    const engine = await engineWith([callFlow(upstream, { component: { timeout_ms: 150 } })]);

    const record = await engine.execute('call', {});

    expect(record.status).toBe('succeeded');
    expect(upstream.calls('GET /thing').map((c) => c.outcome)).toEqual(['aborted', 'aborted', 'answered']);
  });

  it('gives up after the attempts time out with FLOWD_ERR_PHASE_TIMEOUT', async () => {
    upstream.script('GET /thing', { hang: true });
    const engine = await engineWith([callFlow(upstream, { component: { timeout_ms: 100 } })]);

    const record = await engine.execute('call', {});

    expect(record.status).toBe('failed');
    expect(record.error).toMatchObject({ code: 'FLOWD_ERR_PHASE_TIMEOUT', phase: 'call', attempts: 3 });
    expect(record.error?.message).toContain('timed out after 100 ms');
  });

  it('does not call the upstream again when the output expression fails after a good answer', async () => {
    upstream.script('GET /thing', ok({ nested: 1 }));
    const engine = await engineWith([callFlow(upstream, { phase: { output: "{% $error('bad mapping') %}" } })]);

    const record = await engine.execute('call', {});

    expect(record.status).toBe('failed');
    expect(record.error?.code).toBe('FLOWD_ERR_EXPRESSION_FAILED');
    expect(upstream.count()).toBe(1);
  });

  it('does not call the upstream at all when the request expression yields nothing', async () => {
    upstream.script('GET /thing', ok());
    const engine = await engineWith([callFlow(upstream, { path: '{% input.missing %}' })]);

    const record = await engine.execute('call', {});

    expect(record.error?.code).toBe('FLOWD_ERR_EXPRESSION_FAILED');
    expect(record.error?.recoverable).toBe(false);
    expect(upstream.count()).toBe(0);
  });

  it('never retries a request the http adapter rejects (validation)', async () => {
    upstream.script('/thing', ok());
    // Built by an expression: a literal method flowd does not send is refused at load (request-template.test.ts).
    const engine = await engineWith([callFlow(upstream, { method: "{% 'BREW' %}" })]);

    const record = await engine.execute('call', {});

    expect(record.error).toMatchObject({ code: 'FLOWD_ERR_COMPONENT_FAILED', attempts: 1, recoverable: false });
    expect(upstream.count()).toBe(0);
  });

  it.each([
    ['expression', () => new ExpressionError('adapter found an expression problem')],
    ['input validation', () => new InputValidationError('bad input', [{ path: 'input.x', message: 'required' }])],
    ['egress', () => new EgressDeniedError('not allowed')],
    ['4xx component', () => new ComponentError('nope', { kind: 'status', upstreamStatus: 404 })],
    ['protocol', () => new ComponentError('garbled', { kind: 'protocol' })],
  ])('never retries a %s error thrown by an adapter', async (_name, makeError) => {
    let calls = 0;
    const failing: ComponentAdapter<Record<string, never>> = {
      kind: 'failing',
      configSchema: z.strictObject({}),
      create: () => ({
        execute: () => {
          calls += 1;
          return Promise.reject(makeError());
        },
      }),
    };
    const engine = await engineWith(
      [{ name: 'f', components: { c: { adapter: 'failing' } }, phases: [{ id: 'p', component: 'c' }] }],
      { adapters: [failing as ComponentAdapter<never>] },
    );

    const record = await engine.execute('f', {});

    expect(record.status).toBe('failed');
    expect(calls).toBe(1);
    expect(record.error?.code).toBe(makeError().code);
  });
});

describe('retry_policy settings', () => {
  it('max_attempts raises or lowers the number of attempts', async () => {
    upstream.script('GET /thing', { status: 503 });
    const five = await engineWith([callFlow(upstream, { phase: { retry_policy: { max_attempts: 5 } } })]);
    await five.execute('call', {});
    expect(upstream.count()).toBe(5);

    upstream.reset();
    upstream.script('GET /thing', { status: 503 });
    const one = await engineWith([callFlow(upstream, { name: 'one', phase: { retry_policy: { max_attempts: 1 } } })]);
    const record = await one.execute('one', {});
    expect(upstream.count()).toBe(1);
    expect(phase(record, 'call').attempts).toBe(1);
  });

  it('retry_on narrows what is retried: ["network"] stops retrying 503s', async () => {
    upstream.script('GET /thing', { status: 503 });
    const engine = await engineWith([callFlow(upstream, { phase: { retry_policy: { retry_on: ['network'] } } })]);

    await engine.execute('call', {});

    expect(upstream.count()).toBe(1);
  });

  it('retry_on narrows what is retried: ["5xx"] stops retrying connection resets but retries 503', async () => {
    upstream.script('GET /reset', { reset: true });
    upstream.script('GET /busy', { status: 503 });
    const engine = await engineWith([
      callFlow(upstream, { name: 'reset', path: '/reset', phase: { retry_policy: { retry_on: ['5xx'] } } }),
      callFlow(upstream, { name: 'busy', path: '/busy', phase: { retry_policy: { retry_on: ['5xx'] } } }),
    ]);

    await engine.execute('reset', {});
    await engine.execute('busy', {});

    expect(upstream.count('GET /reset')).toBe(1);
    expect(upstream.count('GET /busy')).toBe(3);
  });

  it('retry_on ["timeout"] retries timeouts only, not 429', async () => {
    upstream.script('GET /slow', { hang: true });
    upstream.script('GET /limited', { status: 429 });
    const policy = { retry_policy: { retry_on: ['timeout'] } };
    const engine = await engineWith([
      callFlow(upstream, { name: 'slow', path: '/slow', phase: policy, component: { timeout_ms: 80 } }),
      callFlow(upstream, { name: 'limited', path: '/limited', phase: policy }),
    ]);

    await engine.execute('slow', {});
    await engine.execute('limited', {});

    expect(upstream.count('GET /slow')).toBe(3);
    expect(upstream.count('GET /limited')).toBe(1);
  });

  it('layers policies: built-in < flow defaults < component < phase, field by field', async () => {
    upstream.script('GET /a', { status: 503 });
    upstream.script('GET /b', { status: 503 });
    upstream.script('GET /c', { status: 503 });
    const engine = await engineWith([
      {
        name: 'layers',
        defaults: { retry_policy: { max_attempts: 2 } },
        components: {
          plain: { adapter: 'http', base_url: upstream.url },
          tuned: { adapter: 'http', base_url: upstream.url, retry_policy: { max_attempts: 4 } },
        },
        phases: [
          { id: 'a', component: 'plain', request: { path: '/a' }, on_error: { fallback: 'a' } },
          { id: 'b', component: 'tuned', request: { path: '/b' }, on_error: { fallback: 'b' } },
          { id: 'c', component: 'tuned', request: { path: '/c' }, retry_policy: { max_attempts: 1 }, on_error: { fallback: 'c' } },
        ],
      },
    ]);

    const record = await engine.execute('layers', {});

    expect(record.status).toBe('succeeded');
    expect([upstream.count('GET /a'), upstream.count('GET /b'), upstream.count('GET /c')]).toEqual([2, 4, 1]);
  });
});

describe('one retry policy for all the calls of a phase (built once, state per call)', () => {
  it('parallel phases on the built-in policy each report their own retries and attempts', async () => {
    upstream.script('GET /a', failTimes(1, { status: 503 }), ok({ a: 1 }));
    upstream.script('GET /b', failTimes(2, { status: 503 }), ok({ b: 1 }));
    const spy = retrySpy();
    const engine = await engineWith(
      [
        {
          name: 'fan',
          components: { api: { adapter: 'http', base_url: upstream.url } },
          phases: [
            {
              id: 'fan',
              parallel: {
                left: [{ id: 'a', component: 'api', request: { path: '/a' }, output: '{% result.body %}' }],
                right: [{ id: 'b', component: 'api', request: { path: '/b' }, output: '{% result.body %}' }],
              },
            },
          ],
        },
      ],
      { middleware: [spy] },
    );

    const first = await engine.execute('fan', {});
    upstream.reset();
    upstream.script('GET /a', ok({ a: 2 }));
    upstream.script('GET /b', failTimes(1, { status: 503 }), ok({ b: 2 }));
    const second = await engine.execute('fan', {});

    expect(first.status).toBe('succeeded');
    expect([phase(first, 'a').attempts, phase(first, 'b').attempts]).toEqual([2, 3]);
    expect([phase(second, 'a').attempts, phase(second, 'b').attempts]).toEqual([1, 2]);
    const byPhase = (id: string) => spy.events.filter((e) => e.phase === id).map((e) => e.attempt);
    expect(byPhase('a')).toEqual([1]);
    expect(byPhase('b')).toEqual([1, 2, 1]);
    expect(spy.events.every((e) => e.code === 'FLOWD_ERR_COMPONENT_FAILED')).toBe(true);
  });
});
