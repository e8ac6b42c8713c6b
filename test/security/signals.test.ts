/**
 * Signals and callbacks tried as an attacker would (issue 15): a signal is scoped like the
 * execution (its tenant's keys with the flow's execute scope; another tenant's key gets the same
 * 404 as an unknown id; a read-only key gets 403), and a callback token is the only credential of
 * its route — a guessed token, a token used twice or a malformed one is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeysEnv, expectProblem, json, makeKey, startService, type TestService } from './helpers.js';

const alice = makeKey('alice', ['flows:execute', 'executions:read', 'tenant=alice']);
const aliceReader = makeKey('alice-reader', ['executions:read', 'tenant=alice']);
const mallory = makeKey('mallory', ['flows:execute', 'executions:read', 'tenant=mallory']);

const FLOWS = [
  {
    name: 'approval',
    phases: [{ id: 'decision', wait: { signal: 'decision', timeout: '1h', schema: { type: 'object', required: ['approved'], properties: { approved: { type: 'boolean' } } } } }],
  },
];

describe('signals between tenants', () => {
  let t: TestService;
  let id: string;

  beforeAll(async () => {
    t = await startService(FLOWS, { API_KEYS: apiKeysEnv(alice, aliceReader, mallory), RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'silent' });
    const started = await t.service.app.inject({ method: 'POST', url: '/flows/approval/execute', headers: alice.auth, payload: { input: {} } });
    expect(started.statusCode).toBe(202);
    id = json(started)['executionId'] as string;
  });

  afterAll(async () => {
    await t.close();
  });

  const signal = (key: { auth: Record<string, string> } | undefined, execution: string, payload: unknown = { approved: true }) =>
    t.service.app.inject({ method: 'POST', url: `/executions/${execution}/signals/decision`, headers: key?.auth ?? {}, payload: { payload } as object });

  it("another tenant's key cannot signal the execution and learns nothing: the same 404 as an unknown id", async () => {
    const foreign = expectProblem(await signal(mallory, id), 404, 'FLOWD_ERR_EXECUTION_NOT_FOUND');
    const unknown = expectProblem(await signal(mallory, '01a24000-0000-7000-8000-000000000000'), 404, 'FLOWD_ERR_EXECUTION_NOT_FOUND');
    expect(String(foreign['detail']).replace(id, '<id>')).toBe(String(unknown['detail']).replace('01a24000-0000-7000-8000-000000000000', '<id>'));
    expect(json(await t.service.app.inject({ method: 'GET', url: `/executions/${id}`, headers: alice.auth }))['status']).toBe('waiting');
  });

  it('a key that can only read gets 403, no key gets 401', async () => {
    expectProblem(await signal(aliceReader, id), 403, 'FLOWD_ERR_FORBIDDEN');
    expectProblem(await signal(undefined, id), 401, 'FLOWD_ERR_UNAUTHENTICATED');
  });

  it("the owner's key delivers it", async () => {
    const sent = await signal(alice, id);
    expect(sent.statusCode).toBe(202);
    expect(json(sent)['delivery']).toBe('delivered');
  });

  it('callback tokens: a guessed one is unknown, a malformed one is refused before any lookup, no key is needed', async () => {
    const guessed = await t.service.app.inject({ method: 'POST', url: `/callbacks/${'A'.repeat(43)}`, payload: { status: 'succeeded', output: {} } });
    expectProblem(guessed, 404, 'FLOWD_ERR_CALLBACK_UNKNOWN');
    const malformed = await t.service.app.inject({ method: 'POST', url: '/callbacks/..%2F..%2Fexecutions', payload: { status: 'succeeded' } });
    expectProblem(malformed, 400, 'FLOWD_ERR_REQUEST_INVALID');
    const badBody = await t.service.app.inject({ method: 'POST', url: `/callbacks/${'B'.repeat(43)}`, payload: { status: 'maybe' } });
    expectProblem(badBody, 400, 'FLOWD_ERR_REQUEST_INVALID');
  });
});
