/**
 * Waiting executions are bounded per tenant (WAITING_MAX_PER_TENANT): a flow that can wait is not
 * started for a tenant that has that many waiting — sync, async or triggered, a burst included —
 * while another tenant still is, and room comes back as waits end. An idempotent request whose
 * execution exists is replayed, not refused. (Before, nothing counted waiting executions: a
 * tenant could park executions in the store without bound.) On every store.
 */
import { describe, expect, it } from 'vitest';
import type { ExecutionRecord } from '../../src/engine/record.js';
import type { Backend } from '../durable/helpers.js';
import { apiKeysEnv, echoFlow, expectProblem, json, makeKey, useStoreBackedService, type TestKey } from './helpers.js';

const FLOWS = [
  { name: 'approval', phases: [{ id: 'decision', wait: { signal: 'decision', timeout: '1h' } }], output: '{% phases.decision %}' },
  echoFlow('parent', { triggers: [{ flow: 'approval', input: '{% {} %}' }] }),
  echoFlow('plain', { persistence: 'all' }),
  {
    name: 'checked-approval',
    components: { check: { adapter: 'mock', sequence: [{ status: 503 }, { status: 200, body: { ok: true } }] } },
    defaults: { retry_policy: { max_attempts: 1 } },
    phases: [
      { id: 'check', component: 'check', request: { method: 'GET', path: '/check' } },
      { id: 'decision', wait: { signal: 'decision', timeout: '1h' } },
    ],
  },
];
const MAX = 3;

describe.each<Backend>(['memory', 'sqlite', 'postgres'])('the waiting bound (%s)', (backend) => {
  const start = useStoreBackedService();
  const alice = makeKey('alice', ['flows:execute', 'executions:read']);
  const bob = makeKey('bob', ['flows:execute', 'executions:read']);

  it('holds for a burst, refuses sync, async and triggered starts, spares other flows and tenants, and frees a place when a wait ends', async () => {
    const { service } = await start(backend, FLOWS, { API_KEYS: apiKeysEnv(alice, bob), WAITING_MAX_PER_TENANT: String(MAX), LOG_LEVEL: 'warn' });
    const post = (key: TestKey, url: string, payload: unknown, headers: Record<string, string> = {}) =>
      service.app.inject({ method: 'POST', url, payload: payload as object, headers: { ...key.auth, ...headers } });
    const approval = (key: TestKey, headers: Record<string, string> = {}) => post(key, '/flows/approval/execute', { input: {} }, headers);

    // Ten at once for three places: exactly three wait, the others are refused and nothing of them is written.
    const burst = await Promise.all(Array.from({ length: 10 }, () => approval(alice)));
    const waiting = burst.filter((answer) => answer.statusCode === 202);
    expect(waiting).toHaveLength(MAX);
    for (const answer of burst.filter((answer) => answer.statusCode !== 202)) {
      const problem = expectProblem(answer, 429, 'FLOWD_ERR_QUEUE_FULL');
      expect(problem['detail']).toContain('WAITING_MAX_PER_TENANT');
      expect(answer.headers['retry-after']).toBe('5');
    }
    expect(await service.store.countWaitingOf('alice')).toBe(MAX);
    expect((await service.store.list({ flow: 'approval', limit: 100 })).items).toHaveLength(MAX);

    // Async and triggered starts of the flow are refused too; a flow that cannot wait is not.
    expectProblem(await approval(alice, { prefer: 'respond-async' }), 429, 'FLOWD_ERR_QUEUE_FULL');
    const parent = json(await post(alice, '/flows/parent/execute', { input: {} })) as unknown as ExecutionRecord;
    expect(parent.status).toBe('succeeded');
    expect(parent.triggersRefused).toEqual([{ flow: 'approval', error: expect.objectContaining({ code: 'FLOWD_ERR_QUEUE_FULL' }) }]);
    expect((await post(alice, '/flows/plain/execute', { input: {} })).statusCode).toBe(200);
    // Another tenant is not held back.
    expect((await approval(bob)).statusCode).toBe(202);

    // A wait that ends frees its place (once the count is read again, within 100 ms).
    const first = json(waiting[0]!)['executionId'] as string;
    expect((await post(alice, `/executions/${first}/signals/decision`, { payload: 'approved' })).statusCode).toBe(202);
    await expect.poll(async () => (await service.app.inject({ method: 'GET', url: `/executions/${first}`, headers: alice.auth })).json<{ status: string }>().status, { timeout: 20_000 }).toBe('succeeded');
    await expect.poll(async () => (await approval(alice)).statusCode, { timeout: 20_000 }).toBe(202);
    expectProblem(await approval(alice), 429, 'FLOWD_ERR_QUEUE_FULL');

    const metric = await service.metrics.registry.getSingleMetricAsString('flowd_queue_refusals_total');
    expect(metric).toMatch(/flowd_queue_refusals_total\{source="api",bound="waiting"\} (9|[1-9]\d)/);
    expect(metric).toContain('flowd_queue_refusals_total{source="trigger",bound="waiting"} 1');
  });

  it('counts a retry of a flow that can wait as a start: refused while the bound is full', async () => {
    const { service } = await start(backend, FLOWS, { API_KEYS: apiKeysEnv(alice), WAITING_MAX_PER_TENANT: '1', LOG_LEVEL: 'warn' });
    const inject = (url: string, payload: unknown = { input: {} }) => service.app.inject({ method: 'POST', url, payload: payload as object, headers: alice.auth });
    // Fails at its check (the mock answers 503 first), before its wait: not waiting.
    const failed = await inject('/flows/checked-approval/execute');
    expect(failed.statusCode).toBe(502);
    const failedId = (json(failed)['execution'] as { executionId: string }).executionId;
    // Its start held the one place until the count was read again (at most 100 ms): then one waits.
    await expect.poll(async () => (await inject('/flows/approval/execute')).statusCode, { timeout: 20_000 }).toBe(202);
    // The retry would pass the check now and wait: the tenant has its one waiting execution already.
    const refused = await inject(`/executions/${failedId}/retry`, {});
    expectProblem(refused, 429, 'FLOWD_ERR_QUEUE_FULL');
    expect(await service.store.countWaitingOf('alice')).toBe(1);
  });

  it('replays an idempotent request whose execution exists though the bound is full', async () => {
    const { service } = await start(backend, FLOWS, { API_KEYS: apiKeysEnv(alice), WAITING_MAX_PER_TENANT: '1', LOG_LEVEL: 'warn' });
    const request = () => service.app.inject({ method: 'POST', url: '/flows/approval/execute', payload: { input: {} }, headers: { ...alice.auth, 'idempotency-key': 'order-7' } });
    const first = await request();
    expect(first.statusCode).toBe(202);
    const id = json(first)['executionId'] as string;
    // The execution it names is still waiting: 409 as for any idempotent request still in progress, not a 429.
    const again = await request();
    expect(again.statusCode, again.body).toBe(409);
    expect(again.body).toContain(id);
    // Once it has ended, the same request replays its answer, though the bound is full again.
    await service.app.inject({ method: 'POST', url: `/executions/${id}/signals/decision`, payload: { payload: 'ok' }, headers: alice.auth });
    await expect.poll(async () => (await service.app.inject({ method: 'GET', url: `/executions/${id}`, headers: alice.auth })).json<{ status: string }>().status, { timeout: 20_000 }).toBe('succeeded');
    await expect.poll(async () => (await service.app.inject({ method: 'POST', url: '/flows/approval/execute', payload: { input: {} }, headers: alice.auth })).statusCode, { timeout: 20_000 }).toBe(202);
    const replayed = await request();
    expect(replayed.statusCode, replayed.body).toBe(200);
    expect(replayed.headers['idempotent-replayed']).toBe('true');
    expect(json(replayed)).toMatchObject({ executionId: id, output: 'ok' });
  });
});
