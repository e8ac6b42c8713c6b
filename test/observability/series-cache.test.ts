import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import { METRIC_NAMES, createMetrics, type FlowdMetrics } from '../../src/observability/metrics.js';
import { SeriesCache, counterSeries, gaugeSeries, histogramSeries } from '../../src/observability/series-cache.js';

/** The flowd part of the exposition, metric by metric: process metrics differ between any two scrapes. */
async function exposition(metrics: FlowdMetrics): Promise<string[]> {
  return Promise.all(METRIC_NAMES.map((name) => metrics.registry.getSingleMetricAsString(name)));
}

async function flowdJson(metrics: FlowdMetrics): Promise<unknown[]> {
  return (await metrics.registry.getMetricsAsJSON()).filter((metric) => (METRIC_NAMES as readonly string[]).includes(metric.name));
}

/** Deterministic, so a failure replays: mulberry32. */
function randomSource(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * One update applied twice: through the series (`fast`) and through prom-client's public
 * label-object API on a second, identical set of metrics (`plain`).
 */
type Update = (fast: FlowdMetrics, plain: FlowdMetrics) => void;

function randomUpdates(count: number, seed: number): Update[] {
  const random = randomSource(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  // Bucket bounds exactly, values between and beyond them, zero, and sums that round (0.1 + 0.2).
  const seconds = [0, 0.0001, 0.0005, 0.001, 0.0025, 0.1, 0.2, 0.3, 0.7, 1, 2.5, 9.99, 30, 31, 1234.5678];
  const flows = ['orders', 'billing', 'élan "quoted" \\ flow'];
  const phases = ['fetch', 'shape', 'pay'];
  const outcomes = ['succeeded', 'failed', 'recovered'];
  const phaseOutcomes = ['succeeded', 'failed', 'fallback', 'cached', 'skipped', 'cancelled'] as const;
  const kinds: Array<() => Update> = [
    () => {
      const [flow, outcome] = [pick(flows), pick(outcomes)];
      return (fast, plain) => {
        fast.series.executionsTotal.of(flow, outcome).inc();
        plain.executionsTotal.inc({ flow, outcome });
      };
    },
    () => {
      const [flow, outcome, value] = [pick(flows), pick(outcomes), pick(seconds) * random()];
      return (fast, plain) => {
        fast.series.executionDuration.of(flow, outcome).observe(value);
        plain.executionDuration.observe({ flow, outcome }, value);
      };
    },
    () => {
      const [flow, up] = [pick(flows), random() < 0.6];
      return (fast, plain) => {
        if (up) fast.series.activeExecutions.of(flow).inc();
        else fast.series.activeExecutions.of(flow).dec();
        if (up) plain.activeExecutions.inc({ flow });
        else plain.activeExecutions.dec({ flow });
      };
    },
    () => {
      const [flow, phase, outcome, value] = [pick(flows), pick(phases), pick(phaseOutcomes), pick(seconds)];
      return (fast, plain) => {
        fast.series.phaseDuration.of(flow, phase, outcome).observe(value);
        plain.phaseDuration.observe({ flow, phase, outcome }, value);
      };
    },
    () => {
      const [flow, phase, attempts] = [pick(flows), pick(phases), 1 + Math.floor(random() * 3)];
      return (fast, plain) => {
        fast.series.phaseAttemptsTotal.of(flow, phase).inc(attempts);
        plain.phaseAttemptsTotal.inc({ flow, phase }, attempts);
      };
    },
    () => {
      const [flow, phase, result] = [pick(flows), pick(phases), pick(['hit', 'miss'] as const)];
      return (fast, plain) => {
        fast.series.cacheRequestsTotal.of(flow, phase, result).inc();
        plain.cacheRequestsTotal.inc({ flow, phase, result });
      };
    },
    () => {
      const [flow, component, state] = [pick(flows), pick(['ledger', 'broken']), pick([0, 1, 2])];
      return (fast, plain) => {
        fast.series.circuitState.of(flow, component).set(state);
        plain.circuitState.set({ flow, component }, state);
      };
    },
    () => {
      const [method, route, status, ms] = [pick(['GET', 'POST']), pick(['/flows', '/executions/:id', 'unmatched']), pick([200, 201, 404, 503]), pick(seconds) * 1000];
      return (fast, plain) => {
        fast.recordHttpRequest(method, route, status, ms);
        const labels = { method, route, status_code: String(status) };
        plain.httpRequestsTotal.inc(labels);
        plain.httpRequestDuration.observe(labels, ms / 1000);
      };
    },
  ];
  return Array.from({ length: count }, () => pick(kinds)());
}

describe('series caches', () => {
  it('expose exactly what prom-client exposes for the same updates, scrape after scrape', async () => {
    const fast = createMetrics();
    const plain = createMetrics();
    const updates = randomUpdates(3000, 8);

    for (const [i, update] of updates.entries()) {
      update(fast, plain);
      if (i % 250 === 0) expect(await exposition(fast)).toEqual(await exposition(plain));
    }

    expect(await exposition(fast)).toEqual(await exposition(plain));
    expect(await flowdJson(fast)).toEqual(await flowdJson(plain));
    expect((await exposition(fast)).join('\n')).toContain('flowd_phase_duration_seconds_bucket{le="30",flow="orders",phase="fetch"');
  });

  it('keep matching prom-client across reset(), remove() and direct label-object updates', async () => {
    const fast = createMetrics();
    const plain = createMetrics();
    const run = (updates: Update[]): void => updates.forEach((update) => update(fast, plain));

    run(randomUpdates(500, 1));
    for (const metrics of [fast, plain]) {
      metrics.registry.resetMetrics();
      metrics.executionsTotal.inc({ flow: 'orders', outcome: 'succeeded' }, 5);
      metrics.phaseDuration.observe({ flow: 'orders', phase: 'fetch', outcome: 'succeeded' }, 0.1);
    }
    run(randomUpdates(500, 2));
    for (const metrics of [fast, plain]) {
      metrics.executionDuration.remove('orders', 'failed');
      metrics.circuitState.remove({ flow: 'billing', component: 'ledger' });
      metrics.activeExecutions.set({ flow: 'orders' }, 7);
    }
    run(randomUpdates(500, 3));

    expect(await exposition(fast)).toEqual(await exposition(plain));
  });

  it('go through prom-client only on a label set’s first update (fails if prom-client’s internals moved)', () => {
    const registry = new Registry();
    const counter = new Counter({ name: 'c_total', help: 'c', labelNames: ['a'], registers: [registry] });
    const gauge = new Gauge({ name: 'g', help: 'g', labelNames: ['a'], registers: [registry] });
    const histogram = new Histogram({ name: 'h', help: 'h', labelNames: ['a'], buckets: [0.1, 1], registers: [registry] });
    const c = counterSeries(counter, ['a']).of('x');
    const g = gaugeSeries(gauge, ['a']).of('x');
    const h = histogramSeries(histogram, ['a']).of('x');
    c.inc();
    g.inc();
    h.observe(0.5);
    const publicCalls = [vi.spyOn(counter, 'inc'), vi.spyOn(gauge, 'inc'), vi.spyOn(gauge, 'dec'), vi.spyOn(gauge, 'set'), vi.spyOn(histogram, 'observe')];

    c.inc(2);
    g.inc();
    g.dec(3);
    g.set(4);
    h.observe(0.05);

    expect([c.isBound, g.isBound, h.isBound]).toEqual([true, true, true]);
    expect(publicCalls.map((spy) => spy.mock.calls.length)).toEqual([0, 0, 0, 0, 0]);
  });

  it('leave values prom-client rejects to prom-client, which throws as before', () => {
    const metrics = createMetrics();
    const series = metrics.series.phaseAttemptsTotal.of('orders', 'fetch');
    series.inc();

    expect(() => series.inc(-1)).toThrow('It is not possible to decrease a counter');
    expect(() => series.inc(Infinity)).toThrow('Value is not a valid number');
    expect(() => metrics.series.phaseDuration.of('orders', 'fetch', 'failed').observe(Number.NaN)).toThrow('Value is not a valid number');
  });

  it('hand back one series per label-value tuple, with numbers as their string form', async () => {
    const metrics = createMetrics();
    const ok = metrics.series.httpRequestsTotal.of('GET', '/flows', 200);

    expect(metrics.series.httpRequestsTotal.of('GET', '/flows', 200)).toBe(ok);
    expect(metrics.series.httpRequestsTotal.of('GET', '/flows', 404)).not.toBe(ok);
    ok.inc();
    expect((await metrics.httpRequestsTotal.get()).values).toEqual([{ value: 1, labels: { method: 'GET', route: '/flows', status_code: '200' } }]);
  });

  it('rejects a label-value tuple of the wrong length', () => {
    const cache = new SeriesCache<string, string[]>(['flow', 'outcome'], (labels) => JSON.stringify(labels));

    expect(cache.of('orders', 'failed')).toBe('{"flow":"orders","outcome":"failed"}');
    expect(() => cache.of('orders')).toThrow('Expected 2 label values (flow, outcome), got 1');
  });
});
