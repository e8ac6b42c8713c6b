/**
 * How resilience outcomes reach a REST caller (createService + app.inject, flows in a temp
 * FLOWS_DIR, EGRESS_ALLOW=127.0.0.1): a component failure is 502 problem+json carrying the
 * execution, a deadline 504, an open circuit 503 + Retry-After, a full bulkhead 429 +
 * Retry-After, a recovered execution 200.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { failTimes, ok, startFaultUpstream, type FaultUpstream } from '../../helpers/fault-upstream.js';
import { makeFlowDir } from '../../helpers/flow-dir.js';
import { startTestService, type TestService } from '../../helpers/service.js';

let upstream: FaultUpstream;
let service: TestService;
let cleanup: () => void;

const component = (extra: Record<string, unknown> = {}) => ({ adapter: 'http', base_url: '', ...extra });

function flows(url: string): Record<string, unknown>[] {
  const api = (extra: Record<string, unknown> = {}) => ({ ...component(extra), base_url: url });
  const one = (name: string, path: string, extra: { component?: Record<string, unknown>; flow?: Record<string, unknown>; phase?: Record<string, unknown> } = {}) => ({
    name,
    components: { api: api(extra.component) },
    phases: [{ id: 'call', component: 'api', request: { path }, output: '{% result.body %}', ...extra.phase }],
    ...extra.flow,
  });
  return [
    one('flaky', '/flaky'),
    one('broken', '/broken', { phase: { retry_policy: { max_attempts: 1 } } }),
    one('slow', '/slow', { flow: { timeout_ms: 200 } }),
    one('slow-long', '/slow', { flow: { timeout_ms: 30_000 }, component: { timeout_ms: 20_000 } }),
    one('guarded', '/guarded', { component: { circuit_breaker: { consecutive_failures: 1, half_open_after_ms: 7_000 } }, phase: { retry_policy: { max_attempts: 1 } } }),
    one('narrow', '/narrow', { component: { bulkhead: { max_concurrent: 1 } }, flow: { timeout_ms: 1_000 } }),
    one('rescued', '/broken', { flow: { recovery_flow: 'rescue' }, phase: { retry_policy: { max_attempts: 1 } } }),
    { name: 'rescue', phases: [{ id: 'answer', component: 'transform', request: "{% {'fallbackFor': input.error.code} %}" }] },
  ];
}

beforeAll(async () => {
  upstream = await startFaultUpstream();
  const files = Object.fromEntries(flows(upstream.url).map((flow) => [`${String(flow['name'])}.json`, JSON.stringify(flow)]));
  const dir = makeFlowDir(files);
  cleanup = dir.cleanup;
  service = await startTestService({ FLOWS_DIR: dir.dir, EGRESS_ALLOW: '127.0.0.1', LOG_LEVEL: 'silent' });
});
afterAll(async () => {
  await service.close();
  await upstream.close();
  cleanup();
});
beforeEach(() => {
  upstream.reset();
});

const execute = (name: string, body: unknown = { input: {} }) =>
  service.app.inject({ method: 'POST', url: `/flows/${name}/execute`, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) });

type Problem = { status: number; code: string; type: string; title: string; detail: string; execution?: Record<string, unknown> & { error?: Record<string, unknown> } };

function problemOf(response: Awaited<ReturnType<typeof execute>>, status: number, code: string): Problem {
  expect(response.statusCode).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = response.json<Problem>();
  expect(body).toMatchObject({ status, code, type: expect.stringMatching(/^https:\/\//), title: expect.any(String), detail: expect.any(String) });
  return body;
}

describe('resilience over HTTP', () => {
  it('200 after retries, the record showing the attempts', async () => {
    upstream.script('GET /flaky', failTimes(2), ok({ fine: true }));

    const response = await execute('flaky');

    expect(response.statusCode).toBe(200);
    const record = response.json<{ status: string; output: unknown; phases: { id: string; attempts: number }[] }>();
    expect(record.status).toBe('succeeded');
    expect(record.output).toEqual({ fine: true });
    expect(record.phases[0]).toMatchObject({ id: 'call', attempts: 3 });
  });

  it('502 problem+json with the execution when a component fails', async () => {
    upstream.script('GET /broken', { status: 500 });

    const body = problemOf(await execute('broken'), 502, 'FLOWD_ERR_COMPONENT_FAILED');

    expect(body.detail).toContain('phase "call"');
    expect(body.execution).toMatchObject({ flow: 'broken', status: 'failed', error: { code: 'FLOWD_ERR_COMPONENT_FAILED', phase: 'call', status: 500 } });
  });

  it('504 when the flow deadline passes, naming the phase that was running', async () => {
    upstream.script('GET /slow', { hang: true });

    const body = problemOf(await execute('slow'), 504, 'FLOWD_ERR_FLOW_TIMEOUT');

    expect(body.detail).toContain('phase "call"');
    expect(body.execution).toMatchObject({ status: 'timed_out', error: { code: 'FLOWD_ERR_FLOW_TIMEOUT', phase: 'call' } });
    await upstream.waitForAbort('GET /slow');
  });

  it('504 when options.timeoutMs shortens the deadline', async () => {
    upstream.script('GET /slow', { hang: true });

    const body = problemOf(await execute('slow-long', { input: {}, options: { timeoutMs: 200 } }), 504, 'FLOWD_ERR_FLOW_TIMEOUT');

    expect(body.execution?.error?.['message']).toContain('200 ms');
  });

  it('503 with Retry-After while a circuit is open, without calling the upstream', async () => {
    upstream.script('GET /guarded', { status: 503 });

    problemOf(await execute('guarded'), 502, 'FLOWD_ERR_COMPONENT_FAILED');
    const response = await execute('guarded');
    const body = problemOf(response, 503, 'FLOWD_ERR_CIRCUIT_OPEN');

    expect(response.headers['retry-after']).toBe('7');
    expect(body.execution?.error).toMatchObject({ code: 'FLOWD_ERR_CIRCUIT_OPEN', retryAfterSeconds: 7 });
    expect(upstream.count()).toBe(1);
  });

  it('429 with Retry-After when a bulkhead is full', async () => {
    upstream.script('GET /narrow', { hang: true });

    const first = execute('narrow');
    await upstream.waitForCalls('GET /narrow', 1);
    const response = await execute('narrow');
    problemOf(response, 429, 'FLOWD_ERR_BULKHEAD_FULL');

    expect(response.headers['retry-after']).toBe('1');
    expect(upstream.count()).toBe(1);
    problemOf(await first, 504, 'FLOWD_ERR_FLOW_TIMEOUT');
  });

  it('200 with recovered: true when a recovery flow answers', async () => {
    upstream.script('GET /broken', { status: 503 });

    const response = await execute('rescued');

    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ recovered: true, status: 'failed', output: { fallbackFor: 'FLOWD_ERR_COMPONENT_FAILED' } });
  });
});
