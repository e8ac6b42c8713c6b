/**
 * The durable API in-process, against SQLite and PostgreSQL: async execution (202 + Location),
 * Prefer: wait, Idempotency-Key under 50 concurrent requests (c), list, cancel (also across
 * instances), callbacks, triggers with a parent link, depends_on within a window, the
 * persistence policy and retention.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { createService, type Service } from '../../src/service.js';
import { CountingUpstream, TERMINAL, readStored, createTestDatabase, waitFor, writeFlows, type Backend, type Json, type TestDatabase } from './helpers.js';

function flows(upstream: string): Record<string, unknown>[] {
  return [
    { name: 'quick', phases: [{ id: 'double', component: 'transform', request: '{% {"n": input.n * 2} %}' }] },
    {
      name: 'slow',
      components: { upstream: { adapter: 'http', base_url: upstream } },
      phases: [
        { id: 'call', component: 'upstream', request: { method: 'POST', path: '/slow', body: '{% input %}' }, output: '{% result.body %}' },
        { id: 'nap', component: 'delay', request: '{% {"ms": input.ms} %}' },
        { id: 'done', component: 'transform', request: '{% {"n": input.n} %}' },
      ],
    },
    { name: 'failing', persistence: 'failed', phases: [{ id: 'bad', component: 'delay', request: { ms: -1 } }] },
    { name: 'kept', persistence: 'all', phases: [{ id: 'one', component: 'transform', request: '{% {"n": input.n} %}' }] },
    {
      name: 'parent',
      persistence: 'all',
      phases: [{ id: 'p', component: 'transform', request: '{% {"n": input.n} %}' }],
      triggers: [{ flow: 'child', input: '{% {"from": output.n} %}' }],
    },
    { name: 'child', phases: [{ id: 'c', component: 'transform', request: '{% {"got": input.from} %}' }] },
    { name: 'verify', phases: [{ id: 'v', component: 'transform', request: '{% {"verified": input.customer} %}' }] },
    {
      name: 'dependent',
      depends_on: [{ flow: 'verify', within_ms: 60_000, correlation_key: '{% input.customer %}' }],
      phases: [{ id: 'd', component: 'transform', request: '{% {"customer": input.customer, "check": deps.verify} %}' }],
    },
  ];
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: Json;
}

async function inject(service: Service, method: 'GET' | 'POST', url: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const response = await service.app.inject({
    method,
    url,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });
  const parsed: Json = response.body === '' ? undefined : JSON.parse(response.body);
  return { status: response.statusCode, headers: response.headers, body: parsed };
}

async function settled(service: Service, id: string, timeoutMs = 20_000): Promise<Json> {
  return waitFor(`execution ${id} to end`, async (): Promise<Json> => {
    const response = await inject(service, 'GET', `/executions/${id}`);
    return response.status === 200 && TERMINAL.has(response.body.status) ? response.body : undefined;
  }, timeoutMs);
}

const BACKENDS: Backend[] = ['sqlite', 'postgres'];

describe.each(BACKENDS)('durable API on %s', (backend) => {
  let db: TestDatabase;
  let upstream: CountingUpstream;
  let flowsDir: string;
  let service: Service;
  let apiOnly: Service;

  beforeAll(async () => {
    db = await createTestDatabase(backend);
    upstream = await new CountingUpstream().start();
    flowsDir = await writeFlows(flows(upstream.url));
    const env = {
      ...db.env,
      FLOWS_DIR: flowsDir,
      LOG_LEVEL: 'error',
      LOG_PRETTY: 'false',
      RATE_LIMIT_PER_MINUTE: '0',
      EGRESS_ALLOW: '127.0.0.1',
      CALLBACK_ALLOW: '127.0.0.1',
      LEASE_MS: '1500',
      WORKER_POLL_MS: '50',
    };
    service = await createService(loadConfig(env), { env });
    // A second instance on the same database that runs no async work (WORKER_CONCURRENCY=0).
    apiOnly = await createService(loadConfig({ ...env, WORKER_CONCURRENCY: '0' }), { env });
  }, 60_000);

  afterAll(async () => {
    await apiOnly?.close();
    await service?.close();
    await upstream?.close();
    await db?.drop();
    if (flowsDir !== undefined) await rm(flowsDir, { recursive: true, force: true });
  });

  it('answers Prefer: respond-async with 202, a Location and the queued status, and runs it in the background', async () => {
    const accepted = await inject(service, 'POST', '/flows/quick/execute', { input: { n: 21 } }, { prefer: 'respond-async' });
    expect(accepted.status).toBe(202);
    expect(accepted.body).toEqual({ executionId: expect.any(String), status: 'queued' });
    expect(accepted.headers['location']).toBe(`/executions/${accepted.body.executionId}`);
    expect(accepted.headers['preference-applied']).toBe('respond-async');
    const record = await settled(service, accepted.body.executionId);
    expect(record).toMatchObject({ status: 'succeeded', output: { n: 42 } });
    const logs = await waitFor('stored log lines', async (): Promise<Json> => {
      const response = await inject(service, 'GET', `/executions/${accepted.body.executionId}/logs`);
      return response.status === 200 && response.body.length > 0 ? response.body : undefined;
    });
    expect(logs[0]).toMatchObject({ executionId: accepted.body.executionId });
  });

  it('answers Prefer: wait=N with 202 once N seconds passed, and with the record when it ends sooner', async () => {
    const waited = await inject(service, 'POST', '/flows/slow/execute', { input: { n: 1, ms: 2500 } }, { prefer: 'wait=1' });
    expect(waited.status).toBe(202);
    expect(waited.body.status).toBe('running');
    expect(waited.headers['location']).toBe(`/executions/${waited.body.executionId}`);
    expect(await settled(service, waited.body.executionId)).toMatchObject({ status: 'succeeded' });
    const quick = await inject(service, 'POST', '/flows/slow/execute', { input: { n: 2, ms: 10 } }, { prefer: 'wait=10' });
    expect(quick.status).toBe(200);
    expect(quick.body).toMatchObject({ status: 'succeeded', output: { n: 2 } });
  });

  it('(c) runs one execution for 50 concurrent sync requests with one Idempotency-Key, replays it, refuses another input', async () => {
    const key = `order-${backend}-${Date.now()}`;
    const input = { n: 7, ms: 400, tag: key };
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => inject(service, 'POST', '/flows/slow/execute', { input }, { 'idempotency-key': key })),
    );
    const fresh = responses.filter((response) => response.status === 200 && response.headers['idempotent-replayed'] === undefined);
    expect(fresh).toHaveLength(1);
    for (const response of responses) {
      if (response === fresh[0]) continue;
      if (response.status === 409) {
        expect(response.body.code).toBe('FLOWD_ERR_IDEMPOTENCY_IN_PROGRESS');
        expect(response.headers['retry-after']).toBe('1');
        expect(response.headers['location']).toBe(`/executions/${fresh[0]!.body.executionId}`);
      } else {
        expect(response.status).toBe(200);
        expect(response.headers['idempotent-replayed']).toBe('true');
        expect(response.body.executionId).toBe(fresh[0]!.body.executionId);
      }
    }
    expect(upstream.calls('/slow')).toBeGreaterThan(0);
    expect(upstream.count(`${fresh[0]!.body.executionId}:call`)).toBe(1);
    const items = (await service.store.list({ flow: 'slow', limit: 200 })).items;
    const tagged = await Promise.all(items.map(async (item) => (await readStored(service.store, item.executionId))?.record.input as { tag?: string } | undefined));
    expect(tagged.filter((input) => input?.tag === key)).toHaveLength(1);

    const replay = await inject(service, 'POST', '/flows/slow/execute', { input }, { 'idempotency-key': key });
    expect(replay.status).toBe(200);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body.executionId).toBe(fresh[0]!.body.executionId);

    const reused = await inject(service, 'POST', '/flows/slow/execute', { input: { ...input, n: 8 } }, { 'idempotency-key': key });
    expect(reused.status).toBe(422);
    expect(reused.body.code).toBe('FLOWD_ERR_IDEMPOTENCY_KEY_REUSED');
  });

  it('(c) gives 50 concurrent async requests with one Idempotency-Key the same execution', async () => {
    const key = `async-${backend}-${Date.now()}`;
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        inject(i % 2 === 0 ? service : apiOnly, 'POST', '/flows/quick/execute', { input: { n: 5 } }, { 'idempotency-key': key, prefer: 'respond-async' }),
      ),
    );
    expect(responses.every((response) => response.status === 202)).toBe(true);
    const ids = new Set<string>(responses.map((response): string => String(response.body.executionId)));
    expect(ids.size).toBe(1);
    expect(responses.filter((response) => response.headers['idempotent-replayed'] === undefined)).toHaveLength(1);
    expect(await settled(service, [...ids][0] ?? '')).toMatchObject({ status: 'succeeded', output: { n: 10 } });
  });

  it('lists executions newest first, filtered by flow and status, page by page', async () => {
    const ids: string[] = [];
    for (let n = 0; n < 3; n += 1) ids.push((await inject(service, 'POST', '/flows/kept/execute', { input: { n } })).body.executionId);
    const page1 = await inject(service, 'GET', '/executions?flow=kept&status=succeeded&limit=2');
    expect(page1.status).toBe(200);
    expect(page1.body.items.map((item: { executionId: string }) => item.executionId)).toEqual([ids[2], ids[1]]);
    const page2 = await inject(service, 'GET', `/executions?flow=kept&status=succeeded&limit=2&cursor=${page1.body.nextCursor}`);
    expect(page2.body.items.map((item: { executionId: string }) => item.executionId)).toEqual([ids[0]]);
    expect(page2.body.nextCursor).toBeUndefined();
    // Visible from the other instance too: it is in the shared store.
    expect((await inject(apiOnly, 'GET', `/executions/${ids[0]}`)).body.status).toBe('succeeded');
  });

  it('cancels a running execution through another instance (flag picked up by the owner within a heartbeat)', async () => {
    const running = await inject(service, 'POST', '/flows/slow/execute', { input: { n: 1, ms: 5000 } }, { prefer: 'respond-async' });
    await waitFor('the slow execution to run', async () => (await inject(service, 'GET', `/executions/${running.body.executionId}`)).body.status === 'running');
    // Cancelled through the other instance: flagged, picked up by the owner's heartbeat.
    const cancel = await inject(apiOnly, 'POST', `/executions/${running.body.executionId}/cancel`);
    expect(cancel.status).toBe(202);
    expect(cancel.body).toEqual({ executionId: running.body.executionId, status: 'cancelling' });
    const record = await settled(service, running.body.executionId);
    expect(record.status).toBe('cancelled');
    const again = await inject(service, 'POST', `/executions/${running.body.executionId}/cancel`);
    expect(again.status).toBe(409);
    expect((await inject(service, 'POST', '/executions/01a21473-0000-7000-8000-000000000000/cancel')).status).toBe(404);
  });

  it('cancels a queued execution before it runs', async () => {
    // An instance that knows a flow the worker instance does not: its executions stay queued there.
    const parkedFlows = await writeFlows([...flows(upstream.url), { name: 'parked', phases: [{ id: 'x', component: 'transform', request: { a: 1 } }] }]);
    const env = { ...db.env, FLOWS_DIR: parkedFlows, LOG_LEVEL: 'error', RATE_LIMIT_PER_MINUTE: '0', WORKER_CONCURRENCY: '0' };
    const idle = await createService(loadConfig(env), { env });
    try {
      const accepted = await inject(idle, 'POST', '/flows/parked/execute', { input: {} }, { prefer: 'respond-async' });
      expect(accepted.status).toBe(202);
      // The worker instance does not have this flow: it reports it and leaves it queued.
      const pending = await service.durable.report.report();
      expect(pending).toContainEqual(expect.objectContaining({ flow: 'parked', count: 1 }));
      expect((await inject(service, 'GET', `/executions/${accepted.body.executionId}`)).body.status).toBe('queued');
      const cancel = await inject(service, 'POST', `/executions/${accepted.body.executionId}/cancel`);
      expect(cancel.status).toBe(202);
      expect(cancel.body).toEqual({ executionId: accepted.body.executionId, status: 'cancelled' });
      const record = (await inject(idle, 'GET', `/executions/${accepted.body.executionId}`)).body;
      expect(record).toMatchObject({ status: 'cancelled', phases: [], error: { code: 'FLOWD_ERR_CANCELLED' } });
      expect((await service.store.claim({ owner: 'test', flows: [{ name: 'parked', hash: idle.built.flows.get('parked')!.hash }], limit: 10, leaseMs: 1000 })).length).toBe(0);
    } finally {
      await idle.close();
      await rm(parkedFlows, { recursive: true, force: true });
    }
  });

  it('POSTs the record of a finished async execution to an allowed callback URL, and refuses other hosts', async () => {
    const accepted = await inject(service, 'POST', '/flows/quick/execute', { input: { n: 4 }, options: { callbackUrl: `${upstream.url}/callback` } }, { prefer: 'respond-async' });
    expect(accepted.status).toBe(202);
    await waitFor('the callback', () => upstream.count(`${accepted.body.executionId}:callback`) === 1);
    const refused = await inject(service, 'POST', '/flows/quick/execute', { input: { n: 4 }, options: { callbackUrl: 'http://example.com/hook' } }, { prefer: 'respond-async' });
    expect(refused.status).toBe(400);
    expect(refused.body.detail).toContain('CALLBACK_ALLOW');
    const syncWithCallback = await inject(service, 'POST', '/flows/quick/execute', { input: { n: 4 }, options: { callbackUrl: `${upstream.url}/callback` } });
    expect(syncWithCallback.status).toBe(400);
  });

  it('starts triggered flows through the queue with a parent link shown by GET /executions/{id}', async () => {
    const parent = await inject(service, 'POST', '/flows/parent/execute', { input: { n: 9 } });
    expect(parent.status).toBe(200);
    expect(parent.body.triggered).toHaveLength(1);
    const childId = parent.body.triggered[0];
    const child = await settled(service, childId);
    expect(child).toMatchObject({ flow: 'child', status: 'succeeded', parentId: parent.body.executionId, output: { got: 9 } });
    const stored = await inject(apiOnly, 'GET', `/executions/${parent.body.executionId}`);
    expect(stored.body.triggered).toEqual([childId]);
  });

  it('depends_on with within_ms: fails (424) until the prerequisite succeeded for the same correlation key', async () => {
    const customer = `c-${backend}-${Date.now()}`;
    const before = await inject(service, 'POST', '/flows/dependent/execute', { input: { customer } });
    expect(before.status).toBe(424);
    expect(before.body.code).toBe('FLOWD_ERR_DEPENDENCY_NOT_MET');
    const verified = await inject(service, 'POST', '/flows/verify/execute', { input: { customer }, options: { correlationKey: customer } });
    expect(verified.status).toBe(200);
    const other = await inject(service, 'POST', '/flows/dependent/execute', { input: { customer: `${customer}-other` } });
    expect(other.status).toBe(424);
    const after = await inject(apiOnly, 'POST', '/flows/dependent/execute', { input: { customer } });
    expect(after.status).toBe(200);
    expect(after.body.output).toEqual({ customer, check: { verified: customer } });
  });

  it('applies the persistence policy to sync calls: none is not stored, failed keeps failures, all keeps everything', async () => {
    const none = await inject(service, 'POST', '/flows/quick/execute', { input: { n: 1 } });
    expect(none.status).toBe(200);
    expect(await service.store.get(none.body.executionId)).toBeUndefined();
    expect((await inject(service, 'GET', `/executions/${none.body.executionId}`)).status).toBe(200);
    expect((await inject(apiOnly, 'GET', `/executions/${none.body.executionId}`)).status).toBe(404);

    const failed = await inject(service, 'POST', '/flows/failing/execute', { input: {} });
    expect(failed.status).toBe(422);
    expect((await readStored(service.store, failed.body.execution.executionId))?.record).toMatchObject({ status: 'failed' });

    const kept = await inject(service, 'POST', '/flows/kept/execute', { input: { n: 3 } });
    const stored = await readStored(service.store, kept.body.executionId);
    expect(stored?.record).toMatchObject({ status: 'succeeded', output: { n: 3 } });
    // A succeeded execution is shown complete, but its raw values are not kept (nothing resumes or retries it).
    expect(stored?.record.phases.map((phase) => phase.id)).toContain('one');
    expect((await service.store.get(kept.body.executionId, { withState: true }))?.rows.every((row) => row.state === null)).toBe(true);
  });
});

describe('retention', () => {
  it('purges ended executions older than RETENTION_MS in small batches', async () => {
    const db = await createTestDatabase('sqlite');
    const flowsDir = await writeFlows(flows('http://127.0.0.1:9'));
    const env = { ...db.env, FLOWS_DIR: flowsDir, LOG_LEVEL: 'error', RATE_LIMIT_PER_MINUTE: '0', RETENTION_MS: '1', RETENTION_BATCH: '2', RETENTION_INTERVAL_MS: '3600000' };
    const service = await createService(loadConfig(env), { env });
    try {
      const ids: string[] = [];
      for (let n = 0; n < 5; n += 1) ids.push((await inject(service, 'POST', '/flows/kept/execute', { input: { n } })).body.executionId);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await service.durable.retention.purge()).toBeGreaterThanOrEqual(5);
      for (const id of ids) expect((await inject(service, 'GET', `/executions/${id}`)).status).toBe(404);
    } finally {
      await service.close();
      await db.drop();
      await rm(flowsDir, { recursive: true, force: true });
    }
  });
});
