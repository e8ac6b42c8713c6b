/**
 * Issue 16 point 2: versions of one flow side by side. Callers get the current one (the highest)
 * or name one in the path; the record says which ran; GET /flows and GET /flows/{name} list them;
 * each other version has its own documented operation; scopes are the flow's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/http/auth/index.js';
import { makeFlowDir } from '../helpers/flow-dir.js';
import { startTestService, type TestService } from '../helpers/service.js';

const key = (name: string, scopes: string[]): { entry: string; auth: { authorization: string } } => {
  const created = createApiKey({ name, scopes });
  return { entry: created.entry, auth: { authorization: `Bearer ${created.key}` } };
};
const reader = key('reader', ['flows:read']);
const runner = key('runner', ['flows:execute:quote', 'executions:read']);
const deployer = key('deployer', ['flows:deploy']);

/** Version 1 answers 400 from its mock (a failed execution to retry); version 2 answers. */
const V1 = `name: quote
version: 1
description: the first quote
persistence: failed
input: { type: object, required: [n], properties: { n: { type: integer } } }
components: { pricing: { adapter: mock, responses: { default: { status: 400, body: { error: no price } } } } }
phases:
  - { id: price, component: pricing, request: { method: GET, path: /price } }
`;
const V2 = `name: quote
version: 2
description: the second quote
input: { type: object, required: [n, currency], properties: { n: { type: integer }, currency: { type: string } } }
examples: { eur: { n: 1, currency: EUR } }
phases:
  - { id: price, component: transform, request: "{% 'v2 ' & input.currency %}" }
`;

let service: TestService;
let cleanup: () => void;
beforeAll(async () => {
  const flows = makeFlowDir({ 'quote-v1.yaml': V1, 'quote-v2.yaml': V2 });
  cleanup = flows.cleanup;
  service = await startTestService({ FLOWS_DIR: flows.dir, API_KEYS: [reader, runner, deployer].map((k) => k.entry).join(';'), RATE_LIMIT_PER_MINUTE: '0' });
});
afterAll(async () => {
  await service.close();
  cleanup();
});

const get = (url: string, auth = reader.auth) => service.app.inject({ method: 'GET', url, headers: auth });
const post = (url: string, input: unknown, auth = runner.auth) => service.app.inject({ method: 'POST', url, headers: auth, payload: { input } });

describe('versions side by side', () => {
  it('GET /flows lists the current (highest) version and every loaded one', async () => {
    expect((await get('/flows')).json()).toEqual({ flows: [{ name: 'quote', version: '2', description: 'the second quote', versions: ['1', '2'] }] });
  });

  it('GET /flows/{name} shows the current version and lists every version with its hash and file', async () => {
    const detail = (await get('/flows/quote')).json();
    expect(detail).toMatchObject({ name: 'quote', version: '2', current: true, description: 'the second quote' });
    expect(detail.versions).toEqual([
      { version: '1', current: false, hash: expect.stringMatching(/^[0-9a-f]{16}$/), source: 'quote-v1.yaml', description: 'the first quote' },
      { version: '2', current: true, hash: detail.hash, source: 'quote-v2.yaml', description: 'the second quote' },
    ]);
    const v1 = (await get('/flows/quote/versions/1')).json();
    expect(v1).toMatchObject({ version: '1', current: false, hash: detail.versions[0].hash, inputSchema: { required: ['n'] } });
  });

  it('POST /flows/{name}/execute runs the current version; POST /flows/{name}/versions/{v}/execute the one named, and the record says which', async () => {
    const current = await post('/flows/quote/execute', { n: 1, currency: 'EUR' });
    expect(current.json()).toMatchObject({ status: 'succeeded', version: '2', output: 'v2 EUR' });
    // Version 1's own input schema applies to it (no currency needed), and its own phases run.
    const v1 = await post('/flows/quote/versions/1/execute', { n: 1 });
    expect(v1.statusCode).toBe(502);
    expect(v1.json()).toMatchObject({ code: 'FLOWD_ERR_COMPONENT_FAILED', execution: { version: '1', status: 'failed' } });
  });

  it('a retry re-runs the version the execution ran, though another one is current', async () => {
    const failed = (await post('/flows/quote/versions/1/execute', { n: 2 })).json<{ execution: { executionId: string } }>();
    const retry = await service.app.inject({ method: 'POST', url: `/executions/${failed.execution.executionId}/retry`, headers: runner.auth });
    expect(retry.json()).toMatchObject({ execution: { version: '1', retryOf: failed.execution.executionId } });
  });

  it('an Idempotency-Key names the version asked for: the same key on another route is another request (422)', async () => {
    const send = (url: string) => service.app.inject({ method: 'POST', url, headers: { ...runner.auth, 'idempotency-key': 'quote-v2-once' }, payload: { input: { n: 3, currency: 'EUR' } } });
    const first = await send('/flows/quote/versions/2/execute');
    expect(first.json()).toMatchObject({ status: 'succeeded', version: '2' });
    const again = await send('/flows/quote/versions/2/execute');
    expect([again.headers['idempotent-replayed'], again.json<{ executionId: string }>().executionId]).toEqual(['true', first.json<{ executionId: string }>().executionId]);
    // "The current version" is another target than "version 2", though 2 is current now: it may not be after a deploy.
    const current = await send('/flows/quote/execute');
    expect([current.statusCode, current.json<{ code: string }>().code]).toEqual([422, 'FLOWD_ERR_IDEMPOTENCY_KEY_REUSED']);
  });

  it('404 for a version that is not loaded, naming the loaded ones', async () => {
    const response = await post('/flows/quote/versions/7/execute', { n: 1 });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ code: 'FLOWD_ERR_FLOW_NOT_FOUND', detail: 'flow "quote" has no version "7" loaded (loaded versions: 1, 2)' });
    expect((await get('/flows/quote/versions/7')).statusCode).toBe(404);
  });

  it('documents the current version as the flow operation and each other version as its own operation', async () => {
    const document = (await get('/openapi.json')).json<{ paths: Record<string, { post: { operationId: string; requestBody: { content: Record<string, { schema: { properties: { input: unknown } } }> } } }> }>();
    expect(document.paths['/flows/quote/execute']?.post.operationId).toBe('execute_quote');
    expect(document.paths['/flows/quote/execute']?.post.requestBody.content['application/json']?.schema.properties.input).toMatchObject({ required: ['n', 'currency'] });
    expect(document.paths['/flows/quote/versions/1/execute']?.post.operationId).toBe('execute_quote_v1');
    expect(document.paths['/flows/quote/versions/1/execute']?.post.requestBody.content['application/json']?.schema.properties.input).toMatchObject({ required: ['n'] });
    expect(document.paths['/flows/quote/versions/2/execute']).toBeUndefined();
  });

  it('checks the flow\'s execute scope on the version route, and flows:deploy on a reload', async () => {
    expect((await post('/flows/quote/versions/2/execute', { n: 1, currency: 'EUR' }, reader.auth)).statusCode).toBe(403);
    const reload = (auth: { authorization: string }) => service.app.inject({ method: 'POST', url: '/catalog/reload', headers: auth });
    const refused = await reload(reader.auth);
    expect(refused.statusCode).toBe(403);
    expect(refused.headers['www-authenticate']).toContain('scope="flows:deploy"');
    expect((await reload(runner.auth)).statusCode).toBe(403);
    expect((await reload(deployer.auth)).json()).toMatchObject({ outcome: 'unchanged' });
  });
});
