/**
 * The service's metrics end to end: flows run through the API, the metrics app is scraped over a
 * real socket, and every counter and histogram count must have moved by exactly the expected
 * amount with the expected labels.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRIC_NAMES } from '../../src/observability/metrics.js';
import { listen, scrape, startService, valueOf, waitFor, type Sample, type TestService } from './support.js';

const NO_RETRY = { max_attempts: 1 };

const FLOWS = [
  {
    name: 'm-ok',
    components: { echo: { adapter: 'mock', responses: { default: { body: "{% {'id': request.path} %}" } } } },
    phases: [
      {
        id: 'fetch',
        component: 'echo',
        request: { method: 'GET', path: "{% '/items/' & input.id %}" },
        output: '{% result.body %}',
        cache: { ttl_ms: 60_000, key: '{% input.id %}' },
      },
      { id: 'shape', component: 'transform', request: "{% {'got': phases.fetch.id} %}" },
    ],
  },
  {
    name: 'm-retry',
    components: { flaky: { adapter: 'mock', sequence: [{ status: 503 }, { status: 503 }, { status: 200, body: { ok: true } }] } },
    phases: [{ id: 'call', component: 'flaky', retry_policy: { max_attempts: 3, initial_delay_ms: 1, jitter: 'none' } }],
  },
  {
    name: 'm-saga',
    transactional: true,
    components: {
      ledger: { adapter: 'mock', responses: { default: { status: 201, body: { id: 'r-1' } } } },
      broken: { adapter: 'mock', circuit_breaker: { consecutive_failures: 1, half_open_after_ms: 600_000 }, responses: { default: { status: 500 } } },
    },
    phases: [
      { id: 'reserve', component: 'ledger', request: { method: 'POST', path: '/r' }, compensate: { request: { method: 'DELETE', path: '/r/1' } } },
      { id: 'pay', component: 'broken', request: { method: 'POST', path: '/pay' }, retry_policy: NO_RETRY },
    ],
  },
  {
    name: 'm-fallback',
    components: { down: { adapter: 'mock', responses: { default: { status: 503 } } } },
    phases: [{ id: 'lookup', component: 'down', retry_policy: NO_RETRY, on_error: { fallback: "{% {'degraded': true} %}" } }],
  },
  {
    name: 'm-slow',
    phases: [{ id: 'wait', component: 'delay', request: { ms: 300 } }],
  },
];

describe('metrics after executing flows (real sockets)', () => {
  let service: TestService;
  let api: string;
  let metricsUrl: string;
  let before: Sample[];
  let after: Sample[];
  const delta = (name: string, labels: Record<string, string>): number =>
    (valueOf(after, name, labels) ?? 0) - (valueOf(before, name, labels) ?? 0);

  async function execute(flow: string, input: unknown = {}): Promise<Response> {
    return fetch(`${api}/flows/${flow}/execute`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input }),
    });
  }

  beforeAll(async () => {
    service = await startService(FLOWS);
    api = await listen(service.app);
    metricsUrl = await listen(service.metricsApp);
    before = (await scrape(metricsUrl)).samples;

    expect((await execute('m-ok', { id: 'a' })).status).toBe(200);
    expect((await execute('m-ok', { id: 'a' })).status).toBe(200); // cache hit
    expect((await execute('m-retry')).status).toBe(200);
    expect((await execute('m-saga')).status).toBe(502);
    expect((await execute('m-fallback')).status).toBe(200);
    expect((await execute('no-such-flow')).status).toBe(404);
    expect((await fetch(`${api}/health/live`)).status).toBe(200);
    expect((await fetch(`${api}/definitely/not/a/route`)).status).toBe(404);

    // The active gauge is 1 while the slow flow runs, and back to 0 after.
    const slow = execute('m-slow');
    await waitFor(
      async () => valueOf((await scrape(metricsUrl)).samples, 'flowd_active_executions', { flow: 'm-slow' }) === 1,
      5_000,
      'flowd_active_executions{flow="m-slow"} to be 1',
    );
    expect((await slow).status).toBe(200);

    after = (await scrape(metricsUrl)).samples;
  });

  afterAll(async () => {
    await service?.dispose();
  });

  it('counts executions by flow and outcome', () => {
    expect(delta('flowd_executions_total', { flow: 'm-ok', outcome: 'succeeded' })).toBe(2);
    expect(delta('flowd_executions_total', { flow: 'm-retry', outcome: 'succeeded' })).toBe(1);
    expect(delta('flowd_executions_total', { flow: 'm-saga', outcome: 'compensated' })).toBe(1);
    expect(delta('flowd_executions_total', { flow: 'm-fallback', outcome: 'succeeded' })).toBe(1);
    expect(delta('flowd_executions_total', { flow: 'm-slow', outcome: 'succeeded' })).toBe(1);
    const allExecutions = after.filter((s) => s.name === 'flowd_executions_total').reduce((sum, s) => sum + s.value, 0);
    expect(allExecutions).toBe(6); // the unknown flow never became an execution
  });

  it('observes each execution once in the duration histogram, in seconds', () => {
    expect(delta('flowd_execution_duration_seconds_count', { flow: 'm-ok', outcome: 'succeeded' })).toBe(2);
    expect(delta('flowd_execution_duration_seconds_count', { flow: 'm-saga', outcome: 'compensated' })).toBe(1);
    // m-slow waited 300 ms: not in the 0.25 s bucket, and its sum is ≥ 0.3 s (not ms, not 0).
    expect(delta('flowd_execution_duration_seconds_bucket', { flow: 'm-slow', outcome: 'succeeded', le: '0.25' })).toBe(0);
    expect(delta('flowd_execution_duration_seconds_bucket', { flow: 'm-slow', outcome: 'succeeded', le: '+Inf' })).toBe(1);
    const sum = delta('flowd_execution_duration_seconds_sum', { flow: 'm-slow', outcome: 'succeeded' });
    expect(sum).toBeGreaterThanOrEqual(0.29);
    expect(sum).toBeLessThan(10);
  });

  it('brings the active executions gauge back to 0 for every flow', () => {
    const active = after.filter((s) => s.name === 'flowd_active_executions');
    expect(active.map((s) => s.labels['flow']).sort()).toEqual(['m-fallback', 'm-ok', 'm-retry', 'm-saga', 'm-slow']);
    expect(active.every((s) => s.value === 0)).toBe(true);
  });

  it('records phase durations with the phase outcome (failed, fallback, cached) and the real duration', () => {
    const count = (flow: string, phase: string, outcome: string): number =>
      delta('flowd_phase_duration_seconds_count', { flow, phase, outcome });
    expect(count('m-ok', 'fetch', 'succeeded')).toBe(1);
    expect(count('m-ok', 'fetch', 'cached')).toBe(1);
    expect(count('m-ok', 'shape', 'succeeded')).toBe(2);
    expect(count('m-saga', 'reserve', 'succeeded')).toBe(1);
    expect(count('m-saga', 'pay', 'failed')).toBe(1);
    expect(count('m-saga', 'pay', 'succeeded')).toBe(0);
    expect(count('m-fallback', 'lookup', 'fallback')).toBe(1);
    expect(delta('flowd_phase_duration_seconds_sum', { flow: 'm-slow', phase: 'wait', outcome: 'succeeded' })).toBeGreaterThanOrEqual(0.29);
  });

  it('counts phase attempts and retries', () => {
    expect(delta('flowd_phase_attempts_total', { flow: 'm-retry', phase: 'call' })).toBe(3);
    expect(delta('flowd_phase_retries_total', { flow: 'm-retry', phase: 'call' })).toBe(2);
    expect(delta('flowd_phase_attempts_total', { flow: 'm-ok', phase: 'fetch' })).toBe(1); // the hit made no call
    expect(delta('flowd_phase_attempts_total', { flow: 'm-ok', phase: 'shape' })).toBe(2);
    expect(delta('flowd_phase_attempts_total', { flow: 'm-saga', phase: 'pay' })).toBe(1);
    expect(delta('flowd_phase_retries_total', { flow: 'm-saga', phase: 'pay' })).toBe(0);
  });

  it('counts cache hits and misses', () => {
    expect(delta('flowd_cache_requests_total', { flow: 'm-ok', phase: 'fetch', result: 'miss' })).toBe(1);
    expect(delta('flowd_cache_requests_total', { flow: 'm-ok', phase: 'fetch', result: 'hit' })).toBe(1);
  });

  it('exposes the circuit state of the component whose breaker opened', () => {
    expect(valueOf(after, 'flowd_circuit_state', { flow: 'm-saga', component: 'broken' })).toBe(1);
  });

  it('counts compensations by outcome', () => {
    expect(delta('flowd_compensations_total', { flow: 'm-saga', phase: 'reserve', outcome: 'succeeded' })).toBe(1);
    expect(after.filter((s) => s.name === 'flowd_compensations_total')).toHaveLength(1);
  });

  it('counts API requests by route template and status, never by raw URL', () => {
    const requests = (method: string, route: string, status: string): number =>
      delta('flowd_http_requests_total', { method, route, status_code: status });
    // Every flow's executions under the one route template (m-ok twice, m-retry, m-fallback, m-slow); per-flow figures are the execution metrics.
    expect(requests('POST', '/flows/:name/execute', '200')).toBe(5);
    expect(requests('POST', '/flows/:name/execute', '502')).toBe(1);
    expect(requests('POST', '/flows/:name/execute', '404')).toBe(1);
    expect(requests('GET', '/health/live', '200')).toBe(1);
    expect(requests('GET', 'unmatched', '404')).toBe(1);
    expect(delta('flowd_http_request_duration_seconds_count', { method: 'POST', route: '/flows/:name/execute', status_code: '200' })).toBe(5);
    const routes = after.filter((s) => s.name === 'flowd_http_requests_total').map((s) => s.labels['route']);
    expect(routes.some((route) => route?.includes('no-such-flow') || route?.includes('definitely'))).toBe(false);
  });

  it('keeps flowd_flows_loaded and the default process metrics', () => {
    expect(valueOf(after, 'flowd_flows_loaded')).toBe(FLOWS.length);
    expect(after.some((s) => s.name === 'flowd_process_resident_memory_bytes' || s.name === 'flowd_process_cpu_user_seconds_total')).toBe(true);
  });

  it('has no /metrics on the API port: 404 problem+json', async () => {
    const response = await fetch(`${api}/metrics`);
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const body = (await response.json()) as { code: string };
    expect(body.code).toBe('FLOWD_ERR_NOT_FOUND');
  });
});

describe('metrics cardinality', () => {
  let service: TestService;
  let metricsUrl: string;

  beforeAll(async () => {
    service = await startService([FLOWS[0]!], { LOG_LEVEL: 'warn' });
    metricsUrl = await listen(service.metricsApp);
  });

  afterAll(async () => {
    await service?.dispose();
  });

  /** Only flowd's own series: default process metrics (GC kinds…) may legitimately appear. */
  const flowdSeries = (samples: readonly Sample[]): string[] =>
    samples
      .filter((s) => (METRIC_NAMES as readonly string[]).some((name) => s.name === name || s.name.startsWith(`${name}_`)))
      .map((s) => `${s.name}${JSON.stringify(s.labels)}`);

  async function junk(index: number): Promise<number> {
    const name = `zz-${randomBytes(6).toString('hex')}`;
    const kind = index % 4;
    const response =
      kind === 0
        ? await service.app.inject({ method: 'POST', url: `/flows/${name}/execute`, payload: { input: {} } })
        : kind === 1
          ? await service.app.inject({ method: 'GET', url: `/flows/${name}` })
          : kind === 2
            ? await service.app.inject({ method: 'GET', url: `/executions/${randomUUID()}` })
            : await service.app.inject({ method: 'GET', url: `/${name}/${name}` });
    return response.statusCode;
  }

  it('10 000 requests to random flow names and paths add no series', async () => {
    for (let i = 0; i < 4; i += 1) expect(await junk(i)).toBe(404); // each route/status pair once
    const { samples: warm } = await scrape(metricsUrl);
    const seriesBefore = flowdSeries(warm);

    const statuses = new Set<number>();
    for (let batch = 0; batch < 100; batch += 1) {
      const results = await Promise.all(Array.from({ length: 100 }, (_, i) => junk(batch * 100 + i)));
      for (const status of results) statuses.add(status);
    }

    const { text, samples } = await scrape(metricsUrl);
    expect([...statuses]).toEqual([404]);
    expect(flowdSeries(samples)).toEqual(seriesBefore);
    expect(text).not.toContain('zz-');
    expect(valueOf(samples, 'flowd_http_requests_total', { method: 'POST', route: '/flows/:name/execute', status_code: '404' })).toBe(2501);
  }, 120_000);
});
