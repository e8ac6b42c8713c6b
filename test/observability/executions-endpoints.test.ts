/**
 * `GET /executions/{id}` (the phase timeline) and `GET /executions/{id}/logs` (JSON and NDJSON),
 * 404 problem+json for unknown or evicted ids, and the EXECUTIONS_MAX bound of the memory store.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startService, waitFor, type TestService } from './support.js';

interface PhaseView {
  id: string;
  kind: string;
  status: string;
  attempts: number;
  startedAt: string;
  finishedAt?: string;
  durationMs?: number;
  cached?: boolean;
  fallback?: boolean;
  branch?: string;
  error?: { code: string; message: string; attempts?: number; status?: number };
}
interface RecordView {
  executionId: string;
  status: string;
  requestId?: string;
  phases: PhaseView[];
  error?: { code: string; phase?: string };
}
type LogEntry = Record<string, unknown> & { time: string; level: string; msg: string };

const FLOWS = [
  {
    name: 't-mixed',
    components: {
      down: { adapter: 'mock', responses: { default: { status: 503 } } },
      people: { adapter: 'mock', responses: { default: { body: { tier: 'gold' } } } },
    },
    phases: [
      {
        id: 'lookup',
        component: 'down',
        retry_policy: { max_attempts: 2, initial_delay_ms: 1, jitter: 'none' },
        on_error: { fallback: "{% {'degraded': true} %}" },
      },
      { id: 'profile', component: 'people', output: '{% result.body %}', cache: { ttl_ms: 60_000, key: 'all' } },
      {
        id: 'route',
        decision: [
          { when: "{% phases.profile.tier = 'gold' %}", label: 'gold', phases: [{ id: 'vip', component: 'transform', request: '{% 1 %}' }] },
          { otherwise: [{ id: 'plain', component: 'transform', request: '{% 2 %}' }] },
        ],
      },
    ],
  },
  {
    name: 't-fail',
    components: { strict: { adapter: 'mock', responses: { default: { status: 400, body: { reason: 'nope' } } } } },
    phases: [
      { id: 'ok', component: 'transform', request: '{% 1 %}' },
      { id: 'boom', component: 'strict' },
    ],
  },
  { name: 't-slow', phases: [{ id: 'wait', component: 'delay', request: { ms: 400 } }] },
];

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('execution timeline and logs endpoints', () => {
  let service: TestService;

  const execute = async (flow: string, requestId?: string): Promise<{ status: number; id: string }> => {
    const response = await service.app.inject({
      method: 'POST',
      url: `/flows/${flow}/execute`,
      payload: { input: {} },
      headers: requestId === undefined ? {} : { 'x-request-id': requestId },
    });
    const body = response.json<{ executionId?: string; execution?: { executionId: string } }>();
    return { status: response.statusCode, id: body.executionId ?? body.execution!.executionId };
  };
  const getRecord = async (id: string): Promise<RecordView> => {
    const response = await service.app.inject({ method: 'GET', url: `/executions/${id}` });
    expect(response.statusCode).toBe(200);
    return response.json<RecordView>();
  };

  beforeAll(async () => {
    service = await startService(FLOWS);
  });
  afterAll(async () => {
    await service?.dispose();
  });

  it('shows each phase with start, end, duration, attempts, outcome and the cached/fallback flags and error', async () => {
    await execute('t-mixed'); // fills the profile cache
    const { status, id } = await execute('t-mixed', 'timeline-req');
    expect(status).toBe(200);
    const record = await getRecord(id);

    expect(record).toMatchObject({ executionId: id, status: 'succeeded', requestId: 'timeline-req' });
    expect(record.phases.map((p) => [p.id, p.kind, p.status])).toEqual([
      ['lookup', 'call', 'succeeded'],
      ['profile', 'call', 'succeeded'],
      ['route', 'decision', 'succeeded'],
      ['vip', 'call', 'succeeded'],
    ]);
    for (const phase of record.phases) {
      expect(phase.startedAt).toMatch(ISO);
      expect(phase.finishedAt).toMatch(ISO);
      expect(Date.parse(phase.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(phase.startedAt));
      expect(phase.durationMs).toBeGreaterThanOrEqual(0);
    }
    const [lookup, profile, route] = record.phases;
    // The fallback phase succeeded, but the timeline keeps why it fell back and after how many attempts.
    expect(lookup).toMatchObject({ attempts: 2, fallback: true, error: { code: 'FLOWD_ERR_COMPONENT_FAILED', status: 503, attempts: 2 } });
    expect(profile).toMatchObject({ cached: true, attempts: 0 });
    expect(profile!.fallback).toBeUndefined();
    expect(route).toMatchObject({ branch: 'gold' });
  });

  it('shows the failed phase with its error, and the execution error naming it', async () => {
    const { status, id } = await execute('t-fail');
    expect(status).toBe(502);
    const record = await getRecord(id);
    expect(record.status).toBe('failed');
    expect(record.error).toMatchObject({ code: 'FLOWD_ERR_COMPONENT_FAILED', phase: 'boom' });
    expect(record.phases.map((p) => [p.id, p.status])).toEqual([
      ['ok', 'succeeded'],
      ['boom', 'failed'],
    ]);
    expect(record.phases[1]).toMatchObject({ attempts: 1, error: { code: 'FLOWD_ERR_COMPONENT_FAILED', status: 400 } });
    expect(record.phases[1]!.finishedAt).toMatch(ISO);
  });

  it('shows a running execution live: the phase in progress has no end yet', async () => {
    const pending = service.app.inject({ method: 'POST', url: '/flows/t-slow/execute', payload: { input: {} } });
    await waitFor(() => service.built.engine.activeExecutions === 1, 5_000, 't-slow to start');
    // How an operator finds a running execution: its id is on the "execution started" line.
    const started = service.logs.lines.find((line) => line['msg'] === 'execution started' && line['flow'] === 't-slow');
    const id = String(started?.['executionId']);
    const live = await getRecord(id);
    expect(live.status).toBe('running');
    expect(live.phases).toEqual([expect.objectContaining({ id: 'wait', status: 'running' })]);
    expect(live.phases[0]!.finishedAt).toBeUndefined();
    expect((await pending).statusCode).toBe(200);
    expect((await getRecord(id)).phases[0]).toMatchObject({ status: 'succeeded', finishedAt: expect.stringMatching(ISO) });
  });

  it('serves the execution log as a JSON array and as NDJSON, with the same entries', async () => {
    const { id } = await execute('t-fail', 'logs-req');
    const json = await service.app.inject({ method: 'GET', url: `/executions/${id}/logs` });
    expect(json.statusCode).toBe(200);
    expect(json.headers['content-type']).toMatch(/^application\/json/);
    const entries = json.json<LogEntry[]>();
    expect(entries.map((e) => e.msg)).toEqual(['execution started', 'phase finished', 'phase finished', 'execution failed', 'execution finished']);
    for (const entry of entries) {
      expect(entry).toMatchObject({ executionId: id, flow: 't-fail', reqId: 'logs-req' });
      expect(entry.time).toMatch(ISO);
      expect(['info', 'warn', 'error']).toContain(entry.level);
    }
    expect(entries.filter((e) => e.msg === 'phase finished').map((e) => [e['phase'], e['status']])).toEqual([
      ['ok', 'succeeded'],
      ['boom', 'failed'],
    ]);

    const ndjson = await service.app.inject({ method: 'GET', url: `/executions/${id}/logs`, headers: { accept: 'application/x-ndjson' } });
    expect(ndjson.statusCode).toBe(200);
    expect(ndjson.headers['content-type']).toMatch(/^application\/x-ndjson/);
    expect(ndjson.body.endsWith('\n')).toBe(true);
    expect(ndjson.body.trimEnd().split('\n').map((line) => JSON.parse(line) as LogEntry)).toEqual(entries);
  });

  it.each(['', '/logs'])('answers an unknown id on /executions/{id}%s with 404 problem+json', async (suffix) => {
    const response = await service.app.inject({ method: 'GET', url: `/executions/${randomUUID()}${suffix}` });
    expect(response.statusCode).toBe(404);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.json()).toMatchObject({ status: 404, code: 'FLOWD_ERR_EXECUTION_NOT_FOUND' });
  });

  it('answers a malformed id with 400 problem+json, not 404 or 500', async () => {
    const response = await service.app.inject({ method: 'GET', url: '/executions/not-an-id' });
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  });
});

describe('EXECUTIONS_MAX', () => {
  let service: TestService | undefined;
  afterEach(async () => {
    await service?.dispose();
    service = undefined;
  });

  it('keeps at most EXECUTIONS_MAX executions: the oldest is evicted and then answers 404', async () => {
    service = await startService([FLOWS[1]!], { EXECUTIONS_MAX: '2' });
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const response = await service.app.inject({ method: 'POST', url: '/flows/t-fail/execute', payload: { input: {} } });
      ids.push((response.json<{ execution: { executionId: string } }>()).execution.executionId);
    }
    const status = async (url: string): Promise<number> => (await service!.app.inject({ method: 'GET', url })).statusCode;
    expect(await status(`/executions/${ids[0]}`)).toBe(404);
    // The durable log buffer keeps an ended execution's late lines for ~2 s (LINGER_MS) and serves
    // them meanwhile, even when the record was already evicted; then the logs answer 404 as well.
    await waitFor(async () => (await status(`/executions/${ids[0]}/logs`)) === 404, 5_000, 'the evicted execution logs to answer 404');
    for (const id of ids.slice(1)) {
      expect(await status(`/executions/${id}`)).toBe(200);
      expect(await status(`/executions/${id}/logs`)).toBe(200);
    }
  });
});
