/**
 * Callers own their executions (SECURITY rule 11). Two tenants, each with its own keys, tried as an
 * attacker would: the second reads, lists, cancels, retries, replays and squats the first's
 * executions and idempotency keys, and learns nothing and changes nothing. A foreign id answers
 * exactly like an unknown one. An operator scope sees every tenant.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeysEnv, expectProblem, json, makeKey, startService, type TestService } from './helpers.js';

const ALL = ['flows:execute', 'executions:read'];
const alice = makeKey('alice-ci', [...ALL, 'tenant=alice']);
const aliceOps = makeKey('alice-ops', ['executions:read', 'tenant=alice']);
const mallory = makeKey('mallory', [...ALL, 'tenant=mallory']);
const operator = makeKey('operator', ['executions:read:all']);
const UNKNOWN_ID = '01a24000-0000-7000-8000-000000000000';

const FLOWS = [
  { name: 'work', input: { type: 'object' }, persistence: 'failed', phases: [{ id: 'p', component: 'transform', request: '{% input %}' }] },
  { name: 'slow', phases: [{ id: 'wait', component: 'delay', request: { ms: 60_000 } }], timeout_ms: 120_000 },
  { name: 'parent', phases: [{ id: 'child', flow: 'work', input: '{% input %}' }], triggers: [{ flow: 'work' }] },
  { name: 'verify', input: { type: 'object' }, phases: [{ id: 'ok', component: 'transform', request: '{% input %}' }] },
  {
    name: 'dependent',
    input: { type: 'object' },
    depends_on: [{ flow: 'verify', within_ms: 60_000, correlation_key: '{% input.customer %}' }],
    phases: [{ id: 'go', component: 'transform', request: '{% deps.verify %}' }],
  },
  {
    name: 'flaky',
    persistence: 'failed',
    components: { api: { adapter: 'mock', sequence: [{ status: 503 }] } },
    defaults: { retry_policy: { max_attempts: 1 } },
    phases: [{ id: 'call', component: 'api', request: { method: 'GET', path: '/x' } }],
  },
];

let t: TestService;
beforeAll(async () => {
  t = await startService(FLOWS, { API_KEYS: apiKeysEnv(alice, aliceOps, mallory, operator), RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'silent' });
});
afterAll(async () => {
  await t.close();
});

const inject = (key: { auth: Record<string, string> }, method: 'GET' | 'POST', url: string, payload?: unknown, headers: Record<string, string> = {}) =>
  t.service.app.inject({ method, url, headers: { ...key.auth, ...headers }, ...(payload === undefined ? {} : { payload: payload as object }) });

/** A problem body without the request-specific `instance` and the id in the text: what a caller can compare. */
function shape(response: Awaited<ReturnType<typeof inject>>, id: string): unknown {
  const body = json(response);
  return { status: response.statusCode, code: body['code'], title: body['title'], detail: String(body['detail']).replaceAll(id, '<id>') };
}

describe('two tenants', () => {
  let aliceRun: string;
  let aliceFailed: string;
  beforeAll(async () => {
    aliceRun = json(await inject(alice, 'POST', '/flows/work/execute', { input: { order: 'alice-order-4411' } }))['executionId'] as string;
    aliceFailed = (json(await inject(alice, 'POST', '/flows/flaky/execute', { input: {} }))['execution'] as { executionId: string }).executionId;
  });

  it('keys of one tenant share its executions', async () => {
    const read = await inject(aliceOps, 'GET', `/executions/${aliceRun}`);
    expect(read.statusCode).toBe(200);
    expect(json(read)['input']).toEqual({ order: 'alice-order-4411' });
  });

  it("another tenant's execution is not found, exactly like an unknown id: record, logs, cancel, retry", async () => {
    for (const [method, suffix] of [['GET', ''], ['GET', '/logs'], ['POST', '/cancel'], ['POST', '/retry']] as const) {
      const foreign = await inject(mallory, method, `/executions/${aliceFailed}${suffix}`);
      const unknown = await inject(mallory, method, `/executions/${UNKNOWN_ID}${suffix}`);
      expectProblem(foreign, 404, 'FLOWD_ERR_EXECUTION_NOT_FOUND');
      expect(shape(foreign, aliceFailed), `${method} ${suffix}`).toEqual(shape(unknown, UNKNOWN_ID));
      expect(foreign.body).not.toContain('alice-order-4411');
    }
  });

  it("another tenant's list does not show them, filtered or not", async () => {
    for (const url of ['/executions', '/executions?flow=work', '/executions?status=failed']) {
      const listed = json(await inject(mallory, 'GET', url))['items'] as { executionId: string }[];
      expect(listed.map((item) => item.executionId)).not.toContain(aliceRun);
      expect(listed.map((item) => item.executionId)).not.toContain(aliceFailed);
    }
    const own = json(await inject(alice, 'GET', '/executions'))['items'] as { executionId: string }[];
    expect(own.map((item) => item.executionId)).toEqual(expect.arrayContaining([aliceRun, aliceFailed]));
  });

  it('cannot cancel a running execution of another tenant; it keeps running', async () => {
    const accepted = await inject(alice, 'POST', '/flows/slow/execute', { input: {} }, { prefer: 'respond-async' });
    expect(accepted.statusCode).toBe(202);
    const id = json(accepted)['executionId'] as string;
    expectProblem(await inject(mallory, 'POST', `/executions/${id}/cancel`), 404, 'FLOWD_ERR_EXECUTION_NOT_FOUND');
    const mine = await inject(alice, 'POST', `/executions/${id}/cancel`);
    expect(mine.statusCode).toBe(202);
  });

  it('an operator scope sees every tenant, and is named as such', async () => {
    const read = await inject(operator, 'GET', `/executions/${aliceRun}`);
    expect(read.statusCode).toBe(200);
    const listed = json(await inject(operator, 'GET', '/executions'))['items'] as { executionId: string }[];
    expect(listed.map((item) => item.executionId)).toContain(aliceRun);
  });

  it('a record and a list item say whose the execution is; an operator can list one tenant', async () => {
    const malloryRun = json(await inject(mallory, 'POST', '/flows/work/execute', { input: {} }))['executionId'] as string;
    for (const id of [aliceRun, aliceFailed]) expect(json(await inject(operator, 'GET', `/executions/${id}`))['tenant']).toBe('alice');
    expect(json(await inject(mallory, 'GET', `/executions/${malloryRun}`))['tenant']).toBe('mallory');
    type Item = { executionId: string; tenant: string };
    const listOf = async (key: typeof operator, url: string) => json(await inject(key, 'GET', url))['items'] as Item[];
    const all = await listOf(operator, '/executions');
    // In memory (persistence `failed`, succeeded) and stored (failed) alike.
    expect(all).toEqual(expect.arrayContaining([
      expect.objectContaining({ executionId: aliceRun, tenant: 'alice' }),
      expect.objectContaining({ executionId: aliceFailed, tenant: 'alice' }),
      expect.objectContaining({ executionId: malloryRun, tenant: 'mallory' }),
    ]));
    const onlyAlice = await listOf(operator, '/executions?tenant=alice');
    expect(onlyAlice.map((item) => item.executionId)).toEqual(expect.arrayContaining([aliceRun, aliceFailed]));
    expect(new Set(onlyAlice.map((item) => item.tenant))).toEqual(new Set(['alice']));
    expect((await listOf(operator, '/executions?tenant=mallory')).map((item) => item.executionId)).toEqual([malloryRun]);
    // A caller of one tenant asking for another's gets nothing, not an error that would tell it exists.
    expect(await listOf(mallory, '/executions?tenant=alice')).toEqual([]);
    expect((await listOf(mallory, '/executions?tenant=mallory')).map((item) => item.executionId)).toEqual([malloryRun]);
  });
});

describe('work started on behalf of a caller', () => {
  it('sub-flows and triggered flows run for the original caller: visible to it, not to another tenant', async () => {
    const parent = json(await inject(alice, 'POST', '/flows/parent/execute', { input: { n: 5 } }));
    const child = (parent['phases'] as { id: string; childExecutionId?: string }[]).find((phase) => phase.id === 'child')!.childExecutionId!;
    const triggered = (parent['triggered'] as string[])[0]!;
    for (const id of [child, triggered]) {
      expect((await inject(alice, 'GET', `/executions/${id}`)).statusCode, id).toBe(200);
      expectProblem(await inject(mallory, 'GET', `/executions/${id}`), 404, 'FLOWD_ERR_EXECUTION_NOT_FOUND');
    }
  });

  it("depends_on with a correlation key only matches the same tenant's executions", async () => {
    const customer = `c-${Date.now()}`;
    expect((await inject(alice, 'POST', '/flows/verify/execute', { input: {}, options: { correlationKey: customer } })).statusCode).toBe(200);
    expectProblem(await inject(mallory, 'POST', '/flows/dependent/execute', { input: { customer } }), 424, 'FLOWD_ERR_DEPENDENCY_NOT_MET');
    expect((await inject(alice, 'POST', '/flows/dependent/execute', { input: { customer } })).statusCode).toBe(200);
  });
});

describe('idempotency keys are per tenant', () => {
  it("the same key from another tenant is another request: no replay of the first one's answer", async () => {
    const key = `order-${Date.now()}`;
    const first = await inject(alice, 'POST', '/flows/work/execute', { input: { n: 1 } }, { 'idempotency-key': key });
    expect(first.statusCode).toBe(200);
    const other = await inject(mallory, 'POST', '/flows/work/execute', { input: { n: 1 } }, { 'idempotency-key': key });
    expect(other.statusCode).toBe(200);
    expect(other.headers['idempotent-replayed']).toBeUndefined();
    expect(json(other)['executionId']).not.toBe(json(first)['executionId']);
    const again = await inject(alice, 'POST', '/flows/work/execute', { input: { n: 1 } }, { 'idempotency-key': key });
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(json(again)['executionId']).toBe(json(first)['executionId']);
  });

  it("a key squatted by another tenant does not block the owner, and a mismatch never names another tenant's execution", async () => {
    const key = `predictable-${Date.now()}`;
    const squat = await inject(mallory, 'POST', '/flows/work/execute', { input: { n: 666 } }, { 'idempotency-key': key });
    const squatId = json(squat)['executionId'] as string;
    const owner = await inject(alice, 'POST', '/flows/work/execute', { input: { n: 1 } }, { 'idempotency-key': key });
    expect(owner.statusCode).toBe(200);
    expect(owner.body).not.toContain(squatId);
    const mismatch = await inject(alice, 'POST', '/flows/work/execute', { input: { n: 2 } }, { 'idempotency-key': key });
    expectProblem(mismatch, 422, 'FLOWD_ERR_IDEMPOTENCY_KEY_REUSED');
    expect(mismatch.body).not.toContain(squatId);
  });
});
