/**
 * The middleware API: the documented example (examples/middleware.ts) runs around flows and
 * phases in order and sees context and results; phase records are final when `next()` settles;
 * observer hooks that throw never break a flow.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditMiddleware, type AuditEvent } from '../../examples/middleware.js';
import type { FlowLogger } from '../../src/engine/logger.js';
import type { Middleware } from '../../src/engine/middleware.js';
import { LimitExceededError } from '../../src/errors.js';
import { createEngine } from '../../src/library.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { createMetricsSink } from '../../src/observability/metrics-sink.js';
import { startService, type TestService } from './support.js';

const AUDITED_FLOW = {
  name: 'audited',
  components: {
    flaky: { adapter: 'mock', sequence: [{ status: 503 }, { status: 200, body: { n: 41 } }] },
    strict: { adapter: 'mock', responses: { default: { status: 422 } } },
  },
  phases: [
    { id: 'fetch', component: 'flaky', output: '{% result.body.n %}', retry_policy: { max_attempts: 2, initial_delay_ms: 1, jitter: 'none' } },
    {
      id: 'route',
      decision: [{ when: '{% phases.fetch = 41 %}', label: 'yes', phases: [{ id: 'inc', component: 'transform', request: '{% phases.fetch + 1 %}' }] }],
    },
    { id: 'check', component: 'strict', retry_policy: { max_attempts: 1 } },
  ],
};

describe('examples/middleware.ts (the documented custom middleware)', () => {
  let service: TestService;
  const events: AuditEvent[] = [];
  let executionId: string;

  beforeAll(async () => {
    service = await startService([AUDITED_FLOW], {}, { middleware: [auditMiddleware({ sink: (event) => events.push(event), slowPhaseMs: 0 })] });
    const response = await service.app.inject({
      method: 'POST',
      url: '/flows/audited/execute',
      payload: { input: { order: 7 } },
      headers: { 'x-request-id': 'audit-1' },
    });
    expect(response.statusCode).toBe(502);
    executionId = (response.json<{ execution: { executionId: string } }>()).execution.executionId;
  });
  afterAll(async () => {
    await service?.dispose();
  });

  it('runs around the flow and each phase, nested and in order', () => {
    expect(events.map((e) => ('phase' in e ? `${e.type} ${e.phase}` : e.type))).toEqual([
      'flow:before',
      'phase:before fetch',
      'retry fetch',
      'phase:after fetch',
      'phase:before route',
      'phase:before inc',
      'phase:after inc',
      'phase:after route',
      'phase:before check',
      'phase:error check',
      'flow:after',
    ]);
    expect(events.every((e) => e.executionId === executionId)).toBe(true);
  });

  it('sees the context before and the results after', () => {
    expect(events[0]).toEqual({ type: 'flow:before', executionId, flow: 'audited', requestId: 'audit-1', input: { order: 7 } });
    expect(events.find((e) => e.type === 'phase:after' && e.phase === 'fetch')).toMatchObject({ status: 'succeeded', attempts: 2, output: 41 });
    expect(events.find((e) => e.type === 'phase:after' && e.phase === 'inc')).toMatchObject({ status: 'succeeded', output: 42 });
    expect(events.find((e) => e.type === 'phase:error')).toEqual({ type: 'phase:error', executionId, phase: 'check', code: 'FLOWD_ERR_COMPONENT_FAILED' });
    expect(events.at(-1)).toEqual({ type: 'flow:after', executionId, flow: 'audited', status: 'failed', failedPhase: 'check', phases: 4 });
  });

  it('runs inside the built-in logging middleware and logs on the execution logger', () => {
    const lines = service.logs.lines.filter((line) => line['executionId'] === executionId);
    const messages = lines.map((line) => line['msg']);
    expect(messages[0]).toBe('execution started');
    expect(messages.at(-1)).toBe('execution finished');
    const slow = lines.filter((line) => line['msg'] === 'slow phase');
    expect(slow.map((line) => line['phase'])).toEqual(['fetch', 'inc', 'route', 'check']);
    expect(slow.every((line) => line['reqId'] === 'audit-1' && typeof line['durationMs'] === 'number')).toBe(true);
  });
});

describe('phase middleware sees a final phase record when next() settles', () => {
  it('status, error, finishedAt and durationMs are set for succeeded and failed phases', async () => {
    const seen: unknown[] = [];
    const probe: Middleware = {
      name: 'probe',
      async phase(ctx, next) {
        try {
          return await next();
        } finally {
          const { status, error, finishedAt, durationMs } = ctx.record;
          seen.push({ id: ctx.record.id, status, code: error?.code, finished: typeof finishedAt === 'string', timed: typeof durationMs === 'number' });
        }
      },
    };
    const engine = await createEngine({
      flows: [
        {
          name: 'probe-flow',
          components: { strict: { adapter: 'mock', responses: { default: { status: 400 } } } },
          phases: [
            { id: 'wait', component: 'delay', request: { ms: 5 } },
            { id: 'boom', component: 'strict' },
          ],
        },
      ],
      middleware: [probe],
    });
    const record = await engine.execute('probe-flow', {});
    await engine.close();
    expect(record.status).toBe('failed');
    expect(seen).toEqual([
      { id: 'wait', status: 'succeeded', code: undefined, finished: true, timed: true },
      { id: 'boom', status: 'failed', code: 'FLOWD_ERR_COMPONENT_FAILED', finished: true, timed: true },
    ]);
  });
});

describe('observer hooks that throw never break a flow', () => {
  interface Warning {
    bindings: Record<string, unknown>;
    obj: Record<string, unknown>;
    msg: string | undefined;
  }
  function recordingLogger(warnings: Warning[], bindings: Record<string, unknown> = {}): FlowLogger {
    const noop = (): void => {};
    return {
      child: (more) => recordingLogger(warnings, { ...bindings, ...more }),
      trace: noop,
      debug: noop,
      info: noop,
      error: noop,
      warn: (obj, msg) => void warnings.push({ bindings, obj: obj as Record<string, unknown>, msg }),
    };
  }

  const FLOWS = [
    {
      name: 'o-retry',
      components: { flaky: { adapter: 'mock', sequence: [{ status: 503 }, { status: 200, body: 'ok' }] } },
      phases: [{ id: 'call', component: 'flaky', retry_policy: { max_attempts: 2, initial_delay_ms: 1, jitter: 'none' } }],
    },
    {
      name: 'o-cache',
      components: { echo: { adapter: 'mock', responses: { default: { body: 'v' } } } },
      phases: [{ id: 'cached', component: 'echo', cache: { ttl_ms: 60_000, key: 'k' } }],
    },
    {
      name: 'o-saga',
      transactional: true,
      components: {
        ledger: { adapter: 'mock', responses: { default: { status: 201 } } },
        broken: { adapter: 'mock', circuit_breaker: { consecutive_failures: 1, half_open_after_ms: 600_000 }, responses: { default: { status: 500 } } },
      },
      phases: [
        { id: 'reserve', component: 'ledger', compensate: { request: { method: 'DELETE', path: '/r' } } },
        { id: 'pay', component: 'broken', retry_policy: { max_attempts: 1 } },
      ],
    },
  ];

  it.each([
    ['synchronously', false],
    ['through a rejected promise', true],
  ])('keeps every outcome unchanged when each observer throws %s; later middleware still observe; each error is logged', async (_how, async) => {
    const raise = (hook: string): unknown => {
      const error = new Error(`${hook} observer exploded`);
      if (async) return Promise.reject(error);
      throw error;
    };
    const throwing: Middleware = {
      name: 'throwing',
      onRetry: () => raise('onRetry'),
      onCache: () => raise('onCache'),
      onCompensation: () => raise('onCompensation'),
      onCircuitState: () => raise('onCircuitState'),
    };
    const observed: string[] = [];
    const counting: Middleware = {
      name: 'counting',
      onRetry: () => void observed.push('retry'),
      onCache: (event) => void observed.push(`cache:${event.hit ? 'hit' : 'miss'}`),
      onCompensation: (event) => void observed.push(`compensation:${event.compensation.status}`),
      onCircuitState: (event) => void observed.push(`circuit:${event.state}`),
    };
    const warnings: Warning[] = [];
    const engine = await createEngine({ flows: FLOWS, middleware: [throwing, counting], logger: recordingLogger(warnings) });

    const retried = await engine.execute('o-retry', {});
    const miss = await engine.execute('o-cache', {});
    const hit = await engine.execute('o-cache', {});
    const saga = await engine.execute('o-saga', {});
    await new Promise((resolve) => setImmediate(resolve)); // let rejected observer promises be reported
    await engine.close();

    expect(retried).toMatchObject({ status: 'succeeded', phases: [{ id: 'call', attempts: 2, status: 'succeeded' }] });
    expect(miss.status).toBe('succeeded');
    expect(hit).toMatchObject({ status: 'succeeded', phases: [{ cached: true }] });
    expect(saga).toMatchObject({ status: 'compensated', compensations: [{ phase: 'reserve', status: 'succeeded' }] });
    expect(observed).toEqual(['retry', 'cache:miss', 'cache:hit', 'circuit:open', 'compensation:succeeded']);

    const hookWarnings = warnings.filter((w) => w.msg === 'middleware observer hook threw; ignored');
    const logged = hookWarnings.map((w) => `${String(w.obj['hook'])}:${String(w.obj['middleware'])}`);
    expect(logged.sort()).toEqual(['onCache:throwing', 'onCache:throwing', 'onCircuitState:throwing', 'onCompensation:throwing', 'onRetry:throwing']);
    expect(hookWarnings.every((w) => w.obj['err'] instanceof Error && /observer exploded/.test(String(w.obj['err'])))).toBe(true);
    // Hooks about an execution log on that execution's logger (with its id).
    const retryWarning = hookWarnings.find((w) => w.obj['hook'] === 'onRetry');
    expect(retryWarning?.bindings).toMatchObject({ executionId: retried.executionId, flow: 'o-retry' });
  });
});

describe('lifecycle observers and output checks (onFlowStart, onPhaseEnd, onFlowEnd, checkOutput)', () => {
  const LIFECYCLE_FLOW = {
    name: 'lifecycle',
    components: { strict: { adapter: 'mock', responses: { default: { status: 422 } } } },
    phases: [
      { id: 'first', component: 'transform', request: '{% input.n %}' },
      { id: 'route', decision: [{ when: '{% phases.first = 1 %}', label: 'one', phases: [{ id: 'inner', component: 'transform', request: '{% phases.first + 1 %}' }] }] },
      { id: 'last', component: 'strict', retry_policy: { max_attempts: 1 } },
    ],
  };

  it('run outside the around hooks, in order, with final records and the output of succeeded phases', async () => {
    const events: string[] = [];
    const outputs: Record<string, unknown> = {};
    const around: Middleware = {
      name: 'around',
      async flow(_ctx, next) {
        events.push('flow:before');
        const record = await next();
        events.push('flow:after');
        return record;
      },
      async phase(ctx, next) {
        try {
          return await next();
        } finally {
          events.push(`phase:after ${ctx.phase.id}`);
        }
      },
    };
    const observer: Middleware = {
      name: 'observer',
      onFlowStart: (ctx) => void events.push(`start ${ctx.flow.name} ${ctx.record.status}`),
      onPhaseEnd: (ctx, output) => {
        events.push(`end ${ctx.record.id} ${ctx.record.status} ${typeof ctx.record.durationMs} ${typeof ctx.record.finishedAt}`);
        outputs[ctx.record.id] = output;
      },
      onFlowEnd: (ctx, record) => void events.push(`finish ${ctx.executionId === record.executionId} ${record.status} ${record.error?.phase}`),
    };
    const engine = await createEngine({ flows: [LIFECYCLE_FLOW], middleware: [observer, around] });
    const record = await engine.execute('lifecycle', { n: 1 });
    await engine.close();

    expect(record.status).toBe('failed');
    expect(events).toEqual([
      'start lifecycle running',
      'flow:before',
      'phase:after first',
      'end first succeeded number string',
      'phase:after inner',
      'end inner succeeded number string',
      'phase:after route',
      'end route succeeded number string',
      'phase:after last',
      'end last failed number string',
      'flow:after',
      'finish true failed last',
    ]);
    expect(outputs).toEqual({ first: 1, inner: 2, route: { branch: 'one', output: 2 }, last: undefined });
  });

  it('checkOutput checks the output as the phase hooks return it, and fails the phase with the error it throws', async () => {
    const seenByAround: string[] = [];
    const check: Middleware = {
      name: 'check',
      checkOutput: (ctx, output) => {
        if (ctx.phase.id === 'inner' && output === 20) throw new LimitExceededError('inner is too big');
      },
      async phase(ctx, next) {
        try {
          const output = await next();
          seenByAround.push(`${ctx.phase.id} ok`);
          // A hook that replaces the output: the replacement is what gets checked.
          return ctx.phase.id === 'inner' ? (output as number) * 10 : output;
        } catch (error) {
          seenByAround.push(`${ctx.phase.id} ${ctx.record.status} ${ctx.record.error?.code}`);
          throw error;
        }
      },
    };
    const engine = await createEngine({ flows: [LIFECYCLE_FLOW], middleware: [check] });
    const record = await engine.execute('lifecycle', { n: 1 });
    await engine.close();

    expect(record.error).toMatchObject({ code: 'FLOWD_ERR_LIMIT_EXCEEDED', phase: 'inner', message: 'inner is too big' });
    expect(record.phases.map((p) => `${p.id} ${p.status}`)).toEqual(['first succeeded', 'route failed', 'inner failed']);
    expect(seenByAround).toEqual(['first ok', 'inner ok', 'route failed FLOWD_ERR_LIMIT_EXCEEDED']);
  });

  it('an execution a flow middleware stopped before it ran is not counted as finished; the active gauge goes back down', async () => {
    const metrics = createMetrics();
    const refusing: Middleware = {
      name: 'refusing',
      flow: () => Promise.reject(new Error('not today')),
    };
    const engine = await createEngine({ flows: [LIFECYCLE_FLOW], middleware: [refusing], journalSinks: [createMetricsSink(metrics)] });
    await expect(engine.execute('lifecycle', { n: 1 })).rejects.toThrow('not today');
    await engine.close();

    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^flowd_active_executions\{flow="lifecycle"\} 0$/m);
    expect(text).not.toMatch(/^flowd_executions_total\{/m);
  });

  it('an observer that throws (or rejects) is logged and ignored; the others still run', async () => {
    const warnings: string[] = [];
    const noop = (): void => {};
    const logger: FlowLogger = {
      child: () => logger,
      trace: noop,
      debug: noop,
      info: noop,
      error: noop,
      warn: (obj, msg) => void warnings.push(`${String((obj as Record<string, unknown>)['hook'])} ${msg ?? ''}`),
    };
    const throwing: Middleware = {
      name: 'throwing',
      onFlowStart: () => {
        throw new Error('start exploded');
      },
      onPhaseEnd: () => {
        throw new Error('phase exploded');
      },
      onFlowEnd: () => Promise.reject(new Error('end exploded')) as unknown as void,
    };
    let ended = 0;
    const counting: Middleware = { name: 'counting', onPhaseEnd: () => void (ended += 1) };
    const engine = await createEngine({ flows: [LIFECYCLE_FLOW], middleware: [throwing, counting], logger });
    const record = await engine.execute('lifecycle', { n: 2 });
    await new Promise((resolve) => setImmediate(resolve));
    await engine.close();

    expect(record.status).toBe('failed');
    expect(record.error?.phase).toBe('last');
    expect(ended).toBe(3);
    expect(warnings.filter((w) => w.endsWith('middleware observer hook threw; ignored')).sort()).toEqual([
      'onFlowEnd middleware observer hook threw; ignored',
      'onFlowStart middleware observer hook threw; ignored',
      'onPhaseEnd middleware observer hook threw; ignored',
      'onPhaseEnd middleware observer hook threw; ignored',
      'onPhaseEnd middleware observer hook threw; ignored',
    ]);
  });
});
