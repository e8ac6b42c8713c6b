import { describe, expect, it } from 'vitest';
import type { ComponentAdapter } from '../../src/adapters/types.js';
import { buildEngine } from '../../src/library.js';
import { z } from 'zod';

/** An adapter that records calls and concurrency, and answers with its request. */
function recorder(): { adapter: ComponentAdapter<{ latency_ms?: number | undefined }>; calls: unknown[]; maxActive: () => number } {
  const calls: unknown[] = [];
  let active = 0;
  let max = 0;
  return {
    calls,
    maxActive: () => max,
    adapter: {
      kind: 'recorder',
      configSchema: z.strictObject({ latency_ms: z.number().optional() }),
      create: (config) => ({
        async execute(request, ctx) {
          calls.push(request);
          active += 1;
          max = Math.max(max, active);
          try {
            await new Promise((resolve, reject) => {
              const timer = setTimeout(resolve, config.latency_ms ?? 0);
              ctx.signal.addEventListener('abort', () => {
                clearTimeout(timer);
                reject(ctx.signal.reason as Error);
              });
            });
            return request;
          } finally {
            active -= 1;
          }
        },
      }),
    },
  };
}

describe('phase kinds', () => {
  it('a call phase builds its request from the input and earlier outputs, and maps the result', async () => {
    const rec = recorder();
    const { engine } = await buildEngine({
      adapters: [rec.adapter as ComponentAdapter<never>],
      flows: [
        {
          name: 'calls',
          components: { svc: { adapter: 'recorder' } },
          phases: [
            { id: 'first', component: 'transform', request: "{% {'n': input.n * 2} %}" },
            { id: 'second', component: 'svc', request: { value: '{% phases.first.n + 1 %}', label: 'fixed' }, output: '{% result.value %}' },
          ],
          output: "{% {'first': phases.first.n, 'second': phases.second} %}",
        },
      ],
    });
    const record = await engine.execute('calls', { n: 5 });
    expect(record.status).toBe('succeeded');
    expect(rec.calls).toEqual([{ value: 11, label: 'fixed' }]);
    expect(record.output).toEqual({ first: 10, second: 11 });
    expect(record.phases.map((p) => [p.id, p.kind, p.status, p.attempts])).toEqual([
      ['first', 'call', 'succeeded', 1],
      ['second', 'call', 'succeeded', 1],
    ]);
  });

  it('a decision runs the first branch whose `when` is true, else the default', async () => {
    const { engine } = await buildEngine({
      flows: [
        {
          name: 'route',
          phases: [
            {
              id: 'pick',
              decision: [
                { when: "{% input.kind = 'a' %}", label: 'is a', phases: [{ id: 'on_a', component: 'transform', request: 'A' }] },
                { when: "{% input.kind = 'b' %}", phases: [{ id: 'on_b', component: 'transform', request: 'B' }] },
                { otherwise: [{ id: 'other', component: 'transform', request: 'other' }] },
              ],
            },
          ],
          output: '{% phases.pick %}',
        },
      ],
    });
    const a = await engine.execute('route', { kind: 'a' });
    expect(a.output).toEqual({ branch: 'is a', output: 'A' });
    expect(a.phases.find((p) => p.id === 'pick')?.branch).toBe('is a');
    expect((await engine.execute('route', { kind: 'b' })).output).toEqual({ branch: "{% input.kind = 'b' %}", output: 'B' });
    const other = await engine.execute('route', { kind: 'z' });
    expect(other.output).toEqual({ branch: 'otherwise', output: 'other' });
    expect(other.phases.map((p) => p.id)).toEqual(['pick', 'other']);
  });

  it('a decision loop runs again up to its bound, then fails with a limit error', async () => {
    const { engine } = await buildEngine({
      flows: [
        {
          name: 'loop',
          phases: [
            { id: 'tick', component: 'transform', request: '{% $exists(phases.tick) ? phases.tick + 1 : 1 %}' },
            { id: 'check', decision: [{ when: '{% phases.tick < input.until %}', goto: 'tick', max_iterations: 5 }, { otherwise: [] }] },
          ],
          output: '{% phases.tick %}',
        },
      ],
    });
    const done = await engine.execute('loop', { until: 3 });
    expect(done.status).toBe('succeeded');
    expect(done.output).toBe(3);
    expect(done.phases.filter((p) => p.id === 'tick').map((p) => p.iteration)).toEqual([undefined, 1, 2]);
    const runaway = await engine.execute('loop', { until: 100 });
    expect(runaway.status).toBe('failed');
    expect(runaway.error?.code).toBe('FLOWD_ERR_LIMIT_EXCEEDED');
  });

  it('a parallel block runs its branches concurrently and collects their outputs under their names', async () => {
    const rec = recorder();
    const { engine } = await buildEngine({
      adapters: [rec.adapter as ComponentAdapter<never>],
      flows: [
        {
          name: 'fan',
          components: { slow: { adapter: 'recorder', latency_ms: 30 } },
          phases: [
            {
              id: 'both',
              parallel: {
                left: [{ id: 'l', component: 'slow', request: 'L' }],
                right: [{ id: 'r1', component: 'slow', request: 'R1' }, { id: 'r2', component: 'transform', request: "{% phases.r1 & '2' %}" }],
              },
            },
          ],
          output: "{% {'both': phases.both, 'l': phases.l} %}",
        },
      ],
    });
    const record = await engine.execute('fan', {});
    expect(record.output).toEqual({ both: { left: 'L', right: 'R12' }, l: 'L' });
    expect(rec.maxActive()).toBe(2);
    const sequential = await engine.execute('fan', {}, { parallelExecution: false });
    expect(sequential.status).toBe('succeeded');
  });

  it('a map runs its phases for each item with a concurrency limit and keeps results in order', async () => {
    const rec = recorder();
    const { engine } = await buildEngine({
      adapters: [rec.adapter as ComponentAdapter<never>],
      flows: [
        {
          name: 'each',
          components: { svc: { adapter: 'recorder', latency_ms: 5 } },
          phases: [
            {
              id: 'lines',
              map: {
                items: '{% input.items %}',
                concurrency: 2,
                phases: [
                  { id: 'call', component: 'svc', request: "{% {'sku': item.sku, 'at': index} %}" },
                  { id: 'shape', component: 'transform', request: "{% phases.call.sku & '#' & phases.call.at %}" },
                ],
              },
            },
          ],
          output: '{% phases.lines %}',
        },
      ],
    });
    const items = ['a', 'b', 'c', 'd', 'e'].map((sku) => ({ sku }));
    const record = await engine.execute('each', { items });
    expect(record.output).toEqual(['a#0', 'b#1', 'c#2', 'd#3', 'e#4']);
    expect(rec.maxActive()).toBe(2);
    expect(record.phases.filter((p) => p.id === 'call').map((p) => p.index).sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it('a sub-flow runs another flow with mapped input and returns its output', async () => {
    const { engine } = await buildEngine({
      flows: [
        { name: 'double', phases: [{ id: 'd', component: 'transform', request: '{% input.x * 2 %}' }] },
        { name: 'parent', phases: [{ id: 'child', flow: 'double', input: "{% {'x': input.n} %}" }], output: '{% phases.child + 1 %}' },
      ],
    });
    const record = await engine.execute('parent', { n: 20 });
    expect(record.output).toBe(41);
    const child = record.phases.find((p) => p.id === 'child');
    expect(child?.kind).toBe('subflow');
    expect(child?.childExecutionId).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('missing data is loud', () => {
  it('a request field whose expression yields nothing fails the phase naming the expression', async () => {
    const rec = recorder();
    const { engine } = await buildEngine({
      adapters: [rec.adapter as ComponentAdapter<never>],
      flows: [{ name: 'typo', components: { svc: { adapter: 'recorder' } }, phases: [{ id: 'p', component: 'svc', request: { id: '{% input.custmer_id %}' } }] }],
    });
    const record = await engine.execute('typo', { customer_id: 'c-1' });
    expect(record.status).toBe('failed');
    expect(record.error?.code).toBe('FLOWD_ERR_EXPRESSION_FAILED');
    expect(record.error?.message).toContain('input.custmer_id');
    expect(record.error?.phase).toBe('p');
    expect(rec.calls).toEqual([]);
  });

  it('a decision whose `when` yields nothing fails instead of taking the default', async () => {
    const { engine } = await buildEngine({
      flows: [{ name: 'w', phases: [{ id: 'd', decision: [{ when: '{% input.flag %}', phases: [] }, { otherwise: [] }] }] }],
    });
    const record = await engine.execute('w', {});
    expect(record.status).toBe('failed');
    expect(record.error?.code).toBe('FLOWD_ERR_EXPRESSION_FAILED');
  });

  it.each([
    ['a string', '{% input.flag %}', { flag: 'yes' }, 'produced a string, not a boolean'],
    ['a number', '{% input.count %}', { count: 1 }, 'produced a number, not a boolean'],
    ['null', '{% input.flag %}', { flag: null }, 'produced null, not a boolean'],
  ])('a decision whose `when` yields %s fails clearly instead of silently taking the default', async (_what, when, input, message) => {
    const { engine } = await buildEngine({
      flows: [{ name: 'w', phases: [{ id: 'd', decision: [{ when, phases: [{ id: 'yes', component: 'transform', request: 1 }] }, { otherwise: [] }] }] }],
    });
    const record = await engine.execute('w', input);
    expect(record.status).toBe('failed');
    expect(record.error).toMatchObject({ code: 'FLOWD_ERR_EXPRESSION_FAILED', phase: 'd', message: expect.stringContaining(message) });
    expect(record.phases.map((p) => p.id)).toEqual(['d']);
  });

  it('an explicit null is a value, not a missing one', async () => {
    const { engine } = await buildEngine({ flows: [{ name: 'n', phases: [{ id: 'p', component: 'transform', request: { v: '{% input.v %}' } }] }] });
    const record = await engine.execute('n', { v: null });
    expect(record.status).toBe('succeeded');
    expect(record.output).toEqual({ v: null });
  });
});

describe('input validation', () => {
  it('rejects input that fails the flow schema before anything runs, listing each issue', async () => {
    const { engine } = await buildEngine({
      flows: [{ name: 'typed', input: { type: 'object', required: ['id'], properties: { id: { type: 'string' }, qty: { type: 'integer', minimum: 1 } } }, phases: [{ id: 'p', component: 'transform', request: 1 }] }],
    });
    await expect(engine.execute('typed', { qty: 0 })).rejects.toMatchObject({
      code: 'FLOWD_ERR_INPUT_INVALID',
      issues: expect.arrayContaining([{ path: 'input.id', message: 'is required' }, { path: 'input.qty', message: 'must be at least 1' }]),
    });
  });

  it('rejects an unknown flow by code', async () => {
    const { engine } = await buildEngine({ flows: [] });
    await expect(engine.execute('ghost', {})).rejects.toMatchObject({ code: 'FLOWD_ERR_FLOW_NOT_FOUND' });
  });
});
