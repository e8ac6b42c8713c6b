import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionRecord, PhaseRecord } from '../../src/engine/record.js';
import type { CompiledFlow } from '../../src/flows/compiled.js';
import { buildEngine, type BuiltEngine } from '../../src/library.js';
import { planRetry } from '../../src/executions/retry-plan.js';

const FLOW = {
  name: 'plan',
  transactional: true,
  components: { api: { adapter: 'mock' } },
  phases: [
    { id: 'find', component: 'api' },
    { id: 'items', map: { items: '{% [1, 2] %}', phases: [{ id: 'hold', component: 'api', compensate: { request: { method: 'DELETE' } } }] } },
    { id: 'both', parallel: { a: [{ id: 'left', component: 'api' }], b: [{ id: 'right', component: 'api' }] } },
    { id: 'pay', component: 'api' },
  ],
};

function phase(id: string, status: PhaseRecord['status'], index?: number): PhaseRecord {
  return { id, kind: 'call', status, attempts: 1, startedAt: '2025-01-01T00:00:00.000Z', ...(index === undefined ? {} : { index }) };
}

function record(phases: PhaseRecord[]): ExecutionRecord {
  return { executionId: 'x', flow: 'plan', version: '1', status: 'failed', startedAt: '', errorHandled: false, fallbackExecuted: false, recovered: false, phases, error: { code: 'FLOWD_ERR_COMPONENT_FAILED', message: 'down', phase: 'pay' } };
}

describe('planRetry', () => {
  let built: BuiltEngine;
  let flow: CompiledFlow;
  beforeAll(async () => {
    built = await buildEngine({ flows: [FLOW] });
    flow = built.flows.get('plan')!;
  });
  afterAll(() => built.engine.close());

  const checkpoints = new Map<string, unknown>([
    ['find', 'F'],
    ['hold#0', 'H0'],
    ['hold#1', 'H1'],
    ['items', ['H0', 'H1']],
    ['left', 'L'],
    ['right', 'R'],
    ['both', { a: 'L', b: 'R' }],
  ]);

  it('reuses every phase that completed, and names the failed phase', () => {
    const plan = planRetry(
      flow,
      record([phase('find', 'succeeded'), phase('hold', 'succeeded', 0), phase('hold', 'succeeded', 1), phase('items', 'succeeded'), phase('left', 'succeeded'), phase('right', 'succeeded'), phase('both', 'succeeded'), phase('pay', 'failed')]),
      { checkpoints },
    );
    expect([...plan.checkpoints.keys()].sort()).toEqual(['both', 'find', 'hold#0', 'hold#1', 'items', 'left', 'right']);
    expect(plan.fromPhase).toBe('pay');
  });

  it('runs compensated phases again, and the map around them', () => {
    const plan = planRetry(
      flow,
      record([phase('find', 'succeeded'), phase('hold', 'compensated', 0), phase('hold', 'succeeded', 1), phase('items', 'succeeded'), phase('left', 'succeeded'), phase('right', 'succeeded'), phase('both', 'succeeded'), phase('pay', 'failed')]),
      { checkpoints },
    );
    expect([...plan.checkpoints.keys()].sort()).toEqual(['both', 'find', 'hold#1', 'left', 'right']);
  });

  it('does not restore a block whose inner phase did not succeed, but keeps its siblings that did', () => {
    const plan = planRetry(
      flow,
      record([phase('find', 'succeeded'), phase('hold', 'succeeded', 0), phase('hold', 'succeeded', 1), phase('items', 'succeeded'), phase('left', 'succeeded'), phase('right', 'failed'), phase('both', 'failed')]),
      { checkpoints: new Map([...checkpoints].filter(([key]) => key !== 'right' && key !== 'both')) },
    );
    expect([...plan.checkpoints.keys()].sort()).toEqual(['find', 'hold#0', 'hold#1', 'items', 'left']);
  });

  it('ignores checkpoints of phases the flow no longer has, or that have no record', () => {
    const plan = planRetry(flow, record([phase('find', 'succeeded')]), { checkpoints: new Map<string, unknown>([['find', 'F'], ['gone', 1], ['pay', 2]]) });
    expect([...plan.checkpoints.keys()]).toEqual(['find']);
  });

  it('carries the compensation requests of the phases it reuses', () => {
    const plan = planRetry(flow, record([phase('hold', 'succeeded', 0)]), {
      checkpoints: new Map([['hold#0', 'H0']]),
      compensationRequests: new Map([['hold#0', { method: 'POST' }], ['hold#1', { method: 'POST' }]]),
    });
    expect([...plan.compensationRequests.keys()]).toEqual(['hold#0']);
  });
});
