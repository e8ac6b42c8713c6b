/**
 * Timeouts at every level (attempt, phase, flow), the `timeoutMs` request option, and real
 * cancellation: the upstream sees the request aborted, parallel siblings and map items stop
 * when one fails, sub-flows stop at the parent's deadline, a backoff wait is cut short.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ComponentAdapter } from '../../../src/adapters/types.js';
import type { CallPhase } from '../../../src/flows/compiled.js';
import { DEFAULT_CALL_TIMEOUT_MS } from '../../../src/flows/compiler.js';
import { buildEngine } from '../../../src/library.js';
import { isFlowdError } from '../../../src/errors.js';
import { ok } from '../../helpers/fault-upstream.js';
import { callFlow, engineWith, httpComponent, phase, recordCollector, useFaultUpstream } from './helpers.js';

const upstream = useFaultUpstream();

describe('per-attempt timeout', () => {
  it('exists by default: 10 s per attempt, or defaults.timeout_ms, or the component timeout_ms', async () => {
    const built = await buildEngine({
      flows: [
        callFlow(upstream, { name: 'plain' }),
        callFlow(upstream, { name: 'flow-default', flow: { defaults: { timeout_ms: 700 } } }),
        callFlow(upstream, { name: 'component', flow: { defaults: { timeout_ms: 700 } }, component: { timeout_ms: 300 } }),
      ],
      egressAllow: ['127.0.0.1'],
    });
    try {
      const attemptTimeout = (name: string): number => (built.flows.get(name)!.phases[0] as CallPhase).attemptTimeoutMs;
      expect(DEFAULT_CALL_TIMEOUT_MS).toBe(10_000);
      expect(attemptTimeout('plain')).toBe(10_000);
      expect(attemptTimeout('flow-default')).toBe(700);
      expect(attemptTimeout('component')).toBe(300);
    } finally {
      await built.engine.close();
    }
  });

  it('aborts a hanging call at the upstream when the attempt times out', async () => {
    upstream.script('GET /thing', { hang: true });
    const engine = await engineWith([callFlow(upstream, { component: { timeout_ms: 100 }, phase: { retry_policy: { max_attempts: 1 } } })]);

    const record = await engine.execute('call', {});

    expect(record.error).toMatchObject({ code: 'FLOWD_ERR_PHASE_TIMEOUT', phase: 'call', attempts: 1 });
    expect(record.error?.message).toBe('phase "call": call timed out after 100 ms');
    await upstream.waitForAbort('GET /thing');
  });

  it('covers a slow-drip body too: the attempt is aborted mid-body, then retried', async () => {
    upstream.script('GET /thing', { body: { big: 'x'.repeat(200) }, drip: { chunks: 20, intervalMs: 100 } });
    const engine = await engineWith([callFlow(upstream, { component: { timeout_ms: 200 } })]);

    const record = await engine.execute('call', {});

    expect(record.error).toMatchObject({ code: 'FLOWD_ERR_PHASE_TIMEOUT', attempts: 3 });
    await upstream.waitFor(() => upstream.calls('GET /thing').every((c) => c.outcome === 'aborted'));
    expect(upstream.count('GET /thing')).toBe(3);
  });

  it('a drip that finishes within the attempt timeout is read whole', async () => {
    upstream.script('GET /thing', { body: { whole: 'abcdefghij' }, drip: { chunks: 4, intervalMs: 5 } });
    const engine = await engineWith([callFlow(upstream)]);

    const record = await engine.execute('call', {});

    expect(record.output).toEqual({ whole: 'abcdefghij' });
  });
});

describe('phase deadline (timeout_ms of a phase: all attempts and backoffs together)', () => {
  it('stops retrying when the phase deadline passes', async () => {
    upstream.script('GET /thing', { hang: true });
    const engine = await engineWith([
      callFlow(upstream, { component: { timeout_ms: 100 }, phase: { timeout_ms: 250, retry_policy: { max_attempts: 10 } } }),
    ]);

    const record = await engine.execute('call', {});

    expect(record.status).toBe('failed');
    expect(record.error).toMatchObject({ code: 'FLOWD_ERR_PHASE_TIMEOUT', phase: 'call' });
    expect(record.error?.message).toBe('phase "call" exceeded its 250 ms deadline');
    expect(record.error!.attempts!).toBeLessThan(10);
    await upstream.waitFor(() => upstream.calls().every((c) => c.outcome === 'aborted'));
  });

  it('a phase deadline is not retried even with attempts left', async () => {
    upstream.script('GET /thing', { hang: true });
    const engine = await engineWith([callFlow(upstream, { phase: { timeout_ms: 150, retry_policy: { max_attempts: 5 } } })]);

    const record = await engine.execute('call', {});

    expect(record.error).toMatchObject({ code: 'FLOWD_ERR_PHASE_TIMEOUT', attempts: 1 });
    expect(upstream.count()).toBe(1);
  });
});

describe('flow deadline (timeout_ms of the flow)', () => {
  it('ends the execution timed_out, FLOWD_ERR_FLOW_TIMEOUT, naming the phase that was running, and aborts the call', async () => {
    upstream.script('GET /first', ok({ step: 1 }));
    upstream.script('POST /pay', { hang: true });
    const engine = await engineWith([
      {
        name: 'order',
        timeout_ms: 300,
        components: { api: httpComponent(upstream) },
        phases: [
          { id: 'first', component: 'api', request: { path: '/first' } },
          { id: 'pay', component: 'api', request: { method: 'POST', path: '/pay', body: { amount: 5 } } },
          { id: 'never', component: 'api', request: { path: '/never' } },
        ],
      },
    ]);

    const record = await engine.execute('order', {});

    expect(record.status).toBe('timed_out');
    expect(record.error).toMatchObject({ code: 'FLOWD_ERR_FLOW_TIMEOUT', phase: 'pay', recoverable: true });
    expect(record.error?.message).toBe('flow "order" exceeded its 300 ms deadline while phase "pay" was running');
    expect(phase(record, 'first').status).toBe('succeeded');
    expect(phase(record, 'pay').status).toBe('failed');
    expect(record.phases.map((p) => p.id)).not.toContain('never');
    const aborted = await upstream.waitForAbort('POST /pay');
    expect(aborted.body).toEqual({ amount: 5 });
    expect(upstream.count('GET /never')).toBe(0);
  });

  it('cuts a retry backoff short', async () => {
    upstream.script('GET /thing', { status: 503 });
    const engine = await engineWith([
      callFlow(upstream, { flow: { timeout_ms: 200 }, phase: { retry_policy: { initial_delay_ms: 60_000, max_delay_ms: 60_000, jitter: 'none' } } }),
    ]);

    const record = await engine.execute('call', {});

    expect(record.status).toBe('timed_out');
    expect(record.error).toMatchObject({ code: 'FLOWD_ERR_FLOW_TIMEOUT', phase: 'call', attempts: 1 });
    expect(upstream.count()).toBe(1);
  });

  it('stops a delay phase', async () => {
    const engine = await engineWith([
      { name: 'wait', timeout_ms: 150, phases: [{ id: 'nap', component: 'delay', request: { ms: 60_000 } }] },
    ]);

    const record = await engine.execute('wait', {});

    expect(record.status).toBe('timed_out');
    expect(record.error).toMatchObject({ code: 'FLOWD_ERR_FLOW_TIMEOUT', phase: 'nap' });
  });

  it('hands the AbortSignal to the adapter, aborted with the deadline error', async () => {
    const reasons: unknown[] = [];
    const waiter: ComponentAdapter<Record<string, never>> = {
      kind: 'waiter',
      configSchema: z.strictObject({}),
      create: () => ({
        execute: (_request, ctx) =>
          new Promise((_resolve, reject) => {
            ctx.signal.addEventListener('abort', () => {
              reasons.push(ctx.signal.reason);
              reject(ctx.signal.reason as Error);
            });
          }),
      }),
    };
    const engine = await engineWith(
      [{ name: 'w', timeout_ms: 100, components: { c: { adapter: 'waiter' } }, phases: [{ id: 'p', component: 'c' }] }],
      { adapters: [waiter as ComponentAdapter<never>] },
    );

    const record = await engine.execute('w', {});

    expect(record.status).toBe('timed_out');
    expect(reasons).toHaveLength(1);
    expect(isFlowdError(reasons[0]) && reasons[0].code).toBe('FLOWD_ERR_FLOW_TIMEOUT');
  });
});

describe('the timeoutMs request option', () => {
  it('shortens the flow deadline', async () => {
    upstream.script('GET /thing', { hang: true });
    const engine = await engineWith([callFlow(upstream, { component: { timeout_ms: 5_000 } })]);

    const record = await engine.execute('call', {}, { timeoutMs: 200 });

    expect(record.status).toBe('timed_out');
    expect(record.error?.code).toBe('FLOWD_ERR_FLOW_TIMEOUT');
    expect(record.error?.message).toContain('exceeded its 200 ms deadline');
    await upstream.waitForAbort('GET /thing');
  });

  it('never lengthens it', async () => {
    upstream.script('GET /thing', { hang: true });
    // Were the 60 s option honoured, the 2 s attempt timeouts would end the phase first (FLOWD_ERR_PHASE_TIMEOUT).
    const engine = await engineWith([callFlow(upstream, { flow: { timeout_ms: 200 }, component: { timeout_ms: 2_000 } })]);

    const record = await engine.execute('call', {}, { timeoutMs: 60_000 });

    expect(record.status).toBe('timed_out');
    expect(record.error?.code).toBe('FLOWD_ERR_FLOW_TIMEOUT');
    expect(record.error?.message).toContain('exceeded its 200 ms deadline');
  });
});

describe('cancellation by the caller', () => {
  it('an aborted caller signal cancels the execution and the upstream call', async () => {
    upstream.script('GET /thing', { hang: true });
    const engine = await engineWith([callFlow(upstream)]);
    const controller = new AbortController();

    const done = engine.execute('call', {}, { signal: controller.signal });
    await upstream.waitForCalls('GET /thing', 1);
    controller.abort();
    const record = await done;

    expect(record.status).toBe('cancelled');
    expect(record.error?.code).toBe('FLOWD_ERR_CANCELLED');
    await upstream.waitForAbort('GET /thing');
    expect(upstream.count()).toBe(1);
  });

  it('engine.cancel(executionId) does the same', async () => {
    upstream.script('GET /thing', { hang: true });
    const engine = await engineWith([callFlow(upstream)]);

    const { executionId, done } = engine.start('call', {});
    await upstream.waitForCalls('GET /thing', 1);
    expect(engine.cancel(executionId)).toBe(true);
    const record = await done;

    expect(record.status).toBe('cancelled');
    await upstream.waitForAbort('GET /thing');
  });
});

describe('fail fast: one failure stops the others', () => {
  it('a failing parallel branch aborts its running sibling at the upstream; later phases never run', async () => {
    upstream.script('GET /fails', { status: 400, delayMs: 50 });
    upstream.script('GET /slow', { hang: true });
    const engine = await engineWith([
      {
        name: 'fan',
        components: { api: httpComponent(upstream) },
        phases: [
          {
            id: 'both',
            parallel: {
              left: [{ id: 'fails', component: 'api', request: { path: '/fails' } }],
              right: [
                { id: 'slow', component: 'api', request: { path: '/slow' } },
                { id: 'after_slow', component: 'api', request: { path: '/after' } },
              ],
            },
          },
          { id: 'next', component: 'api', request: { path: '/next' } },
        ],
      },
    ]);

    const record = await engine.execute('fan', {});

    expect(record.status).toBe('failed');
    expect(record.error).toMatchObject({ code: 'FLOWD_ERR_COMPONENT_FAILED', phase: 'fails', status: 400 });
    await upstream.waitForAbort('GET /slow');
    expect(phase(record, 'slow').status).toBe('cancelled');
    expect(phase(record, 'slow').error?.code).toBe('FLOWD_ERR_CANCELLED');
    expect(upstream.count('/after')).toBe(0);
    expect(upstream.count('/next')).toBe(0);
    expect(record.phases.map((p) => p.id)).not.toContain('after_slow');
  });

  it('a failing map item aborts the items in flight and starts no more', async () => {
    upstream.script('/items/*', { hang: true });
    upstream.script('/items/2', { status: 422, delayMs: 50 });
    const engine = await engineWith([
      {
        name: 'each',
        components: { api: httpComponent(upstream) },
        phases: [
          {
            id: 'lines',
            map: {
              items: '{% input.ids %}',
              concurrency: 3,
              phases: [{ id: 'line', component: 'api', request: { path: "{% '/items/' & $string(item) %}" } }],
            },
          },
        ],
      },
    ]);

    const record = await engine.execute('each', { ids: [0, 1, 2, 3, 4, 5] });

    expect(record.status).toBe('failed');
    expect(record.error).toMatchObject({ code: 'FLOWD_ERR_COMPONENT_FAILED', phase: 'line', status: 422 });
    await upstream.waitFor(() => upstream.calls('/items/*').filter((c) => c.outcome === 'aborted').length === 2);
    expect(upstream.calls().map((c) => c.path).sort()).toEqual(['/items/0', '/items/1', '/items/2']);
    expect(phase(record, 'line', 0).status).toBe('cancelled');
    expect(phase(record, 'line', 2).status).toBe('failed');
  });

  it('a sibling stopped by fail-fast does not fall back (the flow is failing, nothing was degraded)', async () => {
    upstream.script('GET /fails', { status: 400, delayMs: 50 });
    upstream.script('GET /slow', { hang: true });
    const engine = await engineWith([
      {
        name: 'fan',
        components: { api: httpComponent(upstream) },
        phases: [
          {
            id: 'both',
            parallel: {
              left: [{ id: 'fails', component: 'api', request: { path: '/fails' } }],
              right: [{ id: 'slow', component: 'api', request: { path: '/slow' }, on_error: { fallback: 'degraded' } }],
            },
          },
        ],
      },
    ]);

    const record = await engine.execute('fan', {});

    expect(record.status).toBe('failed');
    expect(phase(record, 'slow').fallback).not.toBe(true);
    expect(record.fallbackExecuted).toBe(false);
    expect(record.errorHandled).toBe(false);
  });
});

describe('sub-flows', () => {
  it('inherit the remaining deadline: a child with its own 60 s deadline stops at the parent’s', async () => {
    upstream.script('GET /child', { hang: true });
    const collector = recordCollector();
    const engine = await engineWith(
      [
        { name: 'parent', timeout_ms: 300, phases: [{ id: 'sub', flow: 'child' }] },
        callFlow(upstream, { name: 'child', path: '/child', flow: { timeout_ms: 60_000 } }),
      ],
      { observer: collector.observer },
    );

    const record = await engine.execute('parent', {});

    expect(record.status).toBe('timed_out');
    expect(record.error).toMatchObject({ code: 'FLOWD_ERR_FLOW_TIMEOUT', phase: 'sub' });
    const child = collector.records.find((r) => r.flow === 'child');
    expect(child?.status).toBe('timed_out');
    expect(child?.error?.code).toBe('FLOWD_ERR_FLOW_TIMEOUT');
    expect(child?.parentId).toBe(record.executionId);
    expect(phase(record, 'sub').childExecutionId).toBe(child?.executionId);
    await upstream.waitForAbort('GET /child');
  });
});
