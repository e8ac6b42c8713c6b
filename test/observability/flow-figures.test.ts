import { describe, expect, it } from 'vitest';
import { quantileMs, readFlowFigures } from '../../src/observability/flow-figures.js';
import { createMetrics } from '../../src/observability/metrics.js';

describe('readFlowFigures', () => {
  it('reports no executions, no error ratio and no p95 for a flow that never ran', async () => {
    const figures = await readFlowFigures(createMetrics(), 'orders');
    expect(figures).toEqual({ executions: 0, byOutcome: {}, errorRatio: 0, p95Ms: undefined });
  });

  it('counts executions by outcome for one flow only, and the share that did not succeed', async () => {
    const metrics = createMetrics();
    metrics.executionsTotal.inc({ flow: 'orders', outcome: 'succeeded' }, 7);
    metrics.executionsTotal.inc({ flow: 'orders', outcome: 'failed' }, 2);
    metrics.executionsTotal.inc({ flow: 'orders', outcome: 'recovered' }, 1);
    metrics.executionsTotal.inc({ flow: 'other', outcome: 'failed' }, 50);
    const figures = await readFlowFigures(metrics, 'orders');
    expect(figures.executions).toBe(10);
    expect(figures.byOutcome).toEqual({ succeeded: 7, failed: 2, recovered: 1 });
    expect(figures.errorRatio).toBeCloseTo(0.3);
  });

  it('computes p95 over every outcome of the flow, interpolating inside the bucket as Prometheus does', async () => {
    const metrics = createMetrics();
    // 19 fast (≤ 5 ms) and 1 slow (between 50 and 100 ms) executions: rank 19 falls in the 5 ms bucket.
    for (let i = 0; i < 19; i += 1) metrics.executionDuration.observe({ flow: 'orders', outcome: 'succeeded' }, 0.004);
    metrics.executionDuration.observe({ flow: 'orders', outcome: 'failed' }, 0.07);
    metrics.executionsTotal.inc({ flow: 'orders', outcome: 'succeeded' }, 19);
    metrics.executionsTotal.inc({ flow: 'orders', outcome: 'failed' }, 1);
    const figures = await readFlowFigures(metrics, 'orders');
    expect(figures.p95Ms).toBeCloseTo(5, 5);
  });
});

describe('quantileMs', () => {
  it('interpolates linearly within the bucket holding the rank', () => {
    // 10 observations, all between 0.1 s and 0.2 s: p50 is halfway through that bucket.
    expect(quantileMs(0.5, [[0.1, 0], [0.2, 10], [Infinity, 10]])).toBeCloseTo(150);
  });

  it('answers the highest finite bound when the rank is in the +Inf bucket', () => {
    expect(quantileMs(0.95, [[1, 1], [Infinity, 10]])).toBe(1000);
  });

  it('answers undefined without observations', () => {
    expect(quantileMs(0.95, [[1, 0], [Infinity, 0]])).toBeUndefined();
  });
});
