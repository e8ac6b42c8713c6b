import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { Gauge, type Histogram, register as globalRegistry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { buildMetricsApp, type MetricsAppOptions } from '../../src/observability/metrics-app.js';
import { DURATION_BUCKETS, METRIC_NAMES, createMetrics } from '../../src/observability/metrics.js';

describe('createMetrics', () => {
  it('gives each call its own registry, so series never leak between instances', async () => {
    const first = createMetrics();
    const second = createMetrics();
    first.executionsTotal.inc({ flow: 'only-in-first', outcome: 'succeeded' });

    expect(first.registry).not.toBe(second.registry);
    expect(await first.registry.metrics()).toContain('flowd_executions_total{flow="only-in-first",outcome="succeeded"} 1');
    expect(await second.registry.metrics()).not.toContain('only-in-first');
  });

  it('leaves the prom-client global registry untouched', async () => {
    createMetrics();
    const globalNames = (await globalRegistry.getMetricsAsJSON()).map((m) => m.name);
    expect(globalNames.filter((name) => name.startsWith('flowd_'))).toEqual([]);
  });

  it('registers every name in METRIC_NAMES, plus default process metrics, all prefixed flowd_', async () => {
    const names = (await createMetrics().registry.getMetricsAsJSON()).map((m) => m.name);

    expect(names).toEqual(expect.arrayContaining([...METRIC_NAMES]));
    expect(names).toContain('flowd_process_cpu_user_seconds_total');
    expect(names.filter((name) => !name.startsWith('flowd_'))).toEqual([]);
  });

  it('applies a custom prefix to the process metrics only, keeping the fixed flowd names', async () => {
    const names = (await createMetrics({ prefix: 'embedded_' }).registry.getMetricsAsJSON()).map((m) => m.name);

    expect(names).toContain('embedded_process_cpu_user_seconds_total');
    expect(names).toEqual(expect.arrayContaining([...METRIC_NAMES]));
  });

  it('uses duration buckets from at most 1 ms to at least 10 s on every histogram', async () => {
    const metrics = createMetrics();
    metrics.executionDuration.observe({ flow: 'f', outcome: 'succeeded' }, 0.2);
    metrics.phaseDuration.observe({ flow: 'f', phase: 'p', outcome: 'cached' }, 0.0001);
    metrics.httpRequestDuration.observe({ method: 'GET', route: '/flows', status_code: '200' }, 0.01);

    const histograms: Histogram<string>[] = [metrics.executionDuration, metrics.phaseDuration, metrics.httpRequestDuration];
    for (const histogram of histograms) {
      const bounds = (await histogram.get()).values
        .map((v) => v.labels.le)
        .filter((le): le is number => typeof le === 'number');
      expect(bounds).toEqual([...DURATION_BUCKETS]);
      expect(Math.min(...bounds)).toBeLessThanOrEqual(0.001);
      expect(Math.max(...bounds)).toBeGreaterThanOrEqual(10);
    }
  });
});

describe('buildMetricsApp', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function listen(
    options: MetricsAppOptions = {},
  ): Promise<{ baseUrl: string; metrics: ReturnType<typeof createMetrics> }> {
    const metrics = createMetrics();
    app = buildMetricsApp(metrics, options);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    return { baseUrl: `http://127.0.0.1:${port}`, metrics };
  }

  it('serves GET /metrics in Prometheus text format over a real socket', async () => {
    const { baseUrl, metrics } = await listen();
    metrics.flowsLoaded.set(3);

    const response = await fetch(`${baseUrl}/metrics`);
    const body = await response.text();

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(metrics.registry.contentType);
    expect(body).toContain('# TYPE flowd_flows_loaded gauge');
    expect(body).toMatch(/^flowd_flows_loaded 3$/m);
    expect(body).toContain('# TYPE flowd_process_cpu_user_seconds_total counter');
  });

  it('answers 404 for any other path or method', async () => {
    const { baseUrl } = await listen();

    const otherPath = await fetch(`${baseUrl}/health/ready`);
    const otherMethod = await fetch(`${baseUrl}/metrics`, { method: 'POST' });

    expect(otherPath.status).toBe(404);
    expect(otherMethod.status).toBe(404);
    expect(await otherPath.text()).not.toContain('flowd_');
  });

  it('logs nothing for a scrape but still logs a failing collection', async () => {
    const lines: Array<{ msg?: string; err?: { message?: string } }> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const { baseUrl, metrics } = await listen({ logger });
    lines.length = 0; // the one-off "Server listening" line is wanted; only scrapes must stay quiet

    expect((await fetch(`${baseUrl}/metrics`)).status).toBe(200);
    expect(lines).toEqual([]);

    new Gauge({
      name: 'flowd_test_broken',
      help: 'collect throws',
      registers: [metrics.registry],
      collect() {
        throw new Error('collector broke');
      },
    });
    expect((await fetch(`${baseUrl}/metrics`)).status).toBe(500);
    expect(lines.map((line) => line.err?.message)).toContain('collector broke');
  });
});
