/**
 * Issue rule 1 — authentication and authorisation, attacked from the outside: no key, bad keys,
 * keys with the wrong scope, and path/method/header tricks that try to route around the check
 * (SECURITY rule 9: authorise the route, not the string).
 */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionRecord } from '../../src/engine/record.js';
import type { ExecutionSummary } from '../../src/store/execution-store.js';
import { apiKeysEnv, echoFlow, expectProblem, json, makeKey, startService, type TestService } from './helpers.js';
import { rawHttp } from './raw-http.js';

// One team's keys (one tenant): these tests are about scopes; tenants have their own tests (tenancy.test.ts).
const admin = makeKey('admin', ['admin']);
const reader = makeKey('reader', ['flows:read', 'tenant=team']);
const execAll = makeKey('exec-all', ['flows:execute', 'tenant=team']);
const execAlpha = makeKey('exec-alpha', ['flows:execute:alpha', 'tenant=team']);
const execSlow = makeKey('exec-slow', ['flows:execute:slow', 'executions:read', 'tenant=team']);
const history = makeKey('history', ['executions:read', 'tenant=team']);
const KEYS = [admin, reader, execAll, execAlpha, execSlow, history];

const slowFlow = {
  name: 'slow',
  description: 'waits, so it can be cancelled',
  phases: [{ id: 'wait', component: 'delay', request: { ms: 20_000 } }],
};

let t: TestService;
let port: number;

beforeAll(async () => {
  t = await startService([echoFlow('alpha'), echoFlow('beta'), slowFlow], { API_KEYS: apiKeysEnv(...KEYS), RATE_LIMIT_PER_MINUTE: '0' });
  await t.service.app.listen({ host: '127.0.0.1', port: 0 });
  port = (t.service.app.server.address() as AddressInfo).port;
});

afterAll(async () => {
  await t.close();
});

async function executions(flow?: string): Promise<readonly ExecutionSummary[]> {
  return (await t.service.store.list({ limit: 200, ...(flow === undefined ? {} : { flow }) })).items;
}

async function run(key: { auth: { authorization: string } }, flow: string, input: unknown = { n: 1 }): Promise<ExecutionRecord> {
  const response = await t.service.app.inject({ method: 'POST', url: `/flows/${flow}/execute`, headers: key.auth, payload: { input } });
  expect(response.statusCode).toBe(200);
  return json(response) as unknown as ExecutionRecord;
}

describe('missing or bad credentials → 401 problem+json with WWW-Authenticate: Bearer', () => {
  const cases: [string, Record<string, string>, string | undefined][] = [
    ['no Authorization header', {}, undefined],
    ['an unknown key', { authorization: 'Bearer flowd_notARealKey000000000000000000000000000000' }, 'invalid_token'],
    ['the SHA-256 hash instead of the key', { authorization: `Bearer ${admin.entry.split(':')[1]}` }, 'invalid_token'],
    ['a valid key in upper case', { authorization: `Bearer ${admin.key.toUpperCase()}` }, 'invalid_token'],
    ['a valid key minus its last character', { authorization: `Bearer ${admin.key.slice(0, -1)}` }, 'invalid_token'],
    ['a valid key plus a character', { authorization: `Bearer ${admin.key}x` }, 'invalid_token'],
    ['Basic instead of Bearer', { authorization: `Basic ${Buffer.from(`admin:${admin.key}`).toString('base64')}` }, 'invalid_token'],
    ['the key without a scheme', { authorization: admin.key }, 'invalid_token'],
    ['two credentials in one header', { authorization: `Bearer ${reader.key}, Bearer ${admin.key}` }, 'invalid_token'],
    ['a key followed by junk', { authorization: `Bearer ${admin.key} admin` }, 'invalid_token'],
    ['an empty bearer token', { authorization: 'Bearer ' }, 'invalid_token'],
    ['a 10 kB token', { authorization: `Bearer ${'a'.repeat(10_000)}` }, 'invalid_token'],
    ['the key in X-API-Key instead', { 'x-api-key': admin.key }, undefined],
    ['the key in a cookie instead', { cookie: `token=${admin.key}` }, undefined],
  ];
  for (const [name, headers, error] of cases) {
    it(`refuses ${name}`, async () => {
      const response = await t.service.app.inject({ method: 'GET', url: '/flows', headers });
      const body = expectProblem(response, 401, 'FLOWD_ERR_UNAUTHENTICATED');
      expect(response.headers['www-authenticate']).toBe(error === undefined ? 'Bearer realm="flowd"' : `Bearer realm="flowd", error="${error}"`);
      // The answer never echoes what was presented.
      expect(response.body).not.toContain(admin.key);
      expect(String(body['detail'])).not.toContain(admin.key.slice(6, 20));
    });
  }

  it('refuses the key passed in the query string', async () => {
    const response = await t.service.app.inject({ method: 'GET', url: `/flows?api_key=${admin.key}&access_token=${admin.key}` });
    expectProblem(response, 401, 'FLOWD_ERR_UNAUTHENTICATED');
  });

  it('accepts the scheme in any case (RFC 7235) but nothing else about the key', async () => {
    const response = await t.service.app.inject({ method: 'GET', url: '/flows', headers: { authorization: `bEaReR ${reader.key}` } });
    expect(response.statusCode).toBe(200);
  });

  it('never logs the presented key', () => {
    expect(t.logs()).not.toContain(admin.key);
    expect(t.logs()).not.toContain(reader.key);
  });
});

describe('scopes: every route checks its own scope (403 FLOWD_ERR_FORBIDDEN otherwise)', () => {
  let alphaRun: ExecutionRecord;
  beforeAll(async () => {
    alphaRun = await run(admin, 'alpha', { hello: 'world' });
  });

  // [method, url, body, keys that may] — everything else must be 403 (with a key) or 401 (without).
  const routes = (): [string, string, unknown, string[]][] => [
    ['GET', '/flows', undefined, ['admin', 'reader']],
    ['GET', '/flows/alpha', undefined, ['admin', 'reader']],
    ['GET', '/flows/alpha/diagram', undefined, ['admin', 'reader']],
    ['POST', '/flows/alpha/execute', { input: { n: 1 } }, ['admin', 'exec-all', 'exec-alpha']],
    ['POST', '/flows/beta/execute', { input: { n: 1 } }, ['admin', 'exec-all']],
    // Not a loaded flow: the generic route; a key limited to other flows may not even learn that.
    ['POST', '/flows/gamma/execute', { input: { n: 1 } }, ['admin', 'exec-all']],
    ['GET', '/executions', undefined, ['admin', 'history', 'exec-slow']],
    ['GET', `/executions/${alphaRun.executionId}`, undefined, ['admin', 'history', 'exec-slow']],
    ['GET', `/executions/${alphaRun.executionId}/logs`, undefined, ['admin', 'history', 'exec-slow']],
  ];

  it('allows exactly the keys with the scope, refuses the others with 403 and the scope needed', async () => {
    for (const [method, url, body, allowed] of routes()) {
      for (const key of KEYS) {
        const response = await t.service.app.inject({ method: method as 'GET', url, headers: key.auth, ...(body === undefined ? {} : { payload: body as object }) });
        if (allowed.includes(key.name)) {
          expect([401, 403], `${key.name} ${method} ${url}`).not.toContain(response.statusCode);
        } else {
          expectProblem(response, 403, 'FLOWD_ERR_FORBIDDEN');
          expect(response.headers['www-authenticate'], `${key.name} ${method} ${url}`).toMatch(/^Bearer realm="flowd", error="insufficient_scope", scope="(flows:read|executions:read|flows:execute:[a-z]+)"$/);
        }
      }
      const anonymous = await t.service.app.inject({ method: method as 'GET', url, ...(body === undefined ? {} : { payload: body as object }) });
      expectProblem(anonymous, 401, 'FLOWD_ERR_UNAUTHENTICATED');
    }
  });

  it('a key without executions:read cannot read any input or output', async () => {
    const secretInput = { marker: 'only-history-readers-see-this-7d1c' };
    const own = await run(execAll, 'alpha', secretInput);
    for (const url of [`/executions/${own.executionId}`, `/executions/${own.executionId}/logs`, '/executions', `/executions?flow=alpha`]) {
      for (const key of [execAll, execAlpha, reader]) {
        const response = await t.service.app.inject({ method: 'GET', url, headers: key.auth });
        expectProblem(response, 403, 'FLOWD_ERR_FORBIDDEN');
        expect(response.body).not.toContain(secretInput.marker);
      }
    }
    const allowed = await t.service.app.inject({ method: 'GET', url: `/executions/${own.executionId}`, headers: history.auth });
    expect(json(allowed)['input']).toEqual(secretInput);
  });

  it('flows:read cannot execute, flows:execute cannot read definitions', async () => {
    expectProblem(await t.service.app.inject({ method: 'POST', url: '/flows/alpha/execute', headers: reader.auth, payload: { input: {} } }), 403, 'FLOWD_ERR_FORBIDDEN');
    expectProblem(await t.service.app.inject({ method: 'GET', url: '/flows/alpha', headers: execAll.auth }), 403, 'FLOWD_ERR_FORBIDDEN');
    expect(await executions('alpha')).not.toContainEqual(expect.objectContaining({ requestId: expect.anything(), flow: 'alpha', input: {} }));
  });

  it('cancel needs executions:read and flows:execute for the flow of that execution', async () => {
    const started = t.service.built.engine.start('slow', {}, { tenant: 'team' });
    const url = `/executions/${started.executionId}/cancel`;
    // Scoped to another flow, or no execute scope at all: refused, and the execution keeps running.
    expectProblem(await t.service.app.inject({ method: 'POST', url, headers: execAlpha.auth }), 403, 'FLOWD_ERR_FORBIDDEN');
    expectProblem(await t.service.app.inject({ method: 'POST', url, headers: history.auth }), 403, 'FLOWD_ERR_FORBIDDEN');
    // Executing is not enough: acting on an execution also needs to be allowed to read it.
    const executeOnly = await t.service.app.inject({ method: 'POST', url, headers: execAll.auth });
    expectProblem(executeOnly, 403, 'FLOWD_ERR_FORBIDDEN');
    expect(json(executeOnly)['detail']).toContain('executions:read');
    expectProblem(await t.service.app.inject({ method: 'POST', url, headers: reader.auth }), 403, 'FLOWD_ERR_FORBIDDEN');
    expectProblem(await t.service.app.inject({ method: 'POST', url }), 401, 'FLOWD_ERR_UNAUTHENTICATED');
    expect(t.service.built.engine.getRunning(started.executionId)).toBeDefined();
    // Scoped to that flow: allowed.
    const cancelled = await t.service.app.inject({ method: 'POST', url, headers: execSlow.auth });
    expect(cancelled.statusCode).toBe(202);
    expect((await started.done).status).toBe('cancelled');
  });

  it('cancel of an unknown execution: 404 for a key that may cancel, 403 for a key that may not cancel anything', async () => {
    const url = '/executions/00000000-0000-7000-8000-000000000000/cancel';
    expectProblem(await t.service.app.inject({ method: 'POST', url, headers: execSlow.auth }), 404, 'FLOWD_ERR_EXECUTION_NOT_FOUND');
    expectProblem(await t.service.app.inject({ method: 'POST', url, headers: execAlpha.auth }), 403, 'FLOWD_ERR_FORBIDDEN');
    expectProblem(await t.service.app.inject({ method: 'POST', url, headers: reader.auth }), 403, 'FLOWD_ERR_FORBIDDEN');
  });

  it('public by default: the health probes and the Swagger UI page and assets (they hold no data)', async () => {
    for (const url of ['/health/live', '/health/ready', '/docs', '/docs/static/index.html', '/docs/static/swagger-initializer.js', '/docs/static/swagger-ui.css']) {
      const response = await t.service.app.inject({ method: 'GET', url });
      expect([401, 403], url).not.toContain(response.statusCode);
    }
  });

  it('the API documents (the flow catalogue) need flows:read: 401 without a key, 403 without the scope', async () => {
    for (const url of ['/openapi.json', '/docs/json', '/docs/yaml']) {
      expectProblem(await t.service.app.inject({ method: 'GET', url }), 401, 'FLOWD_ERR_UNAUTHENTICATED');
      expectProblem(await t.service.app.inject({ method: 'GET', url, headers: execAlpha.auth }), 403, 'FLOWD_ERR_FORBIDDEN');
      expect((await t.service.app.inject({ method: 'GET', url, headers: reader.auth })).statusCode, url).toBe(200);
    }
  });

  it('unknown routes are 401 without a key (no anonymous route probing), 404 with one', async () => {
    expectProblem(await t.service.app.inject({ method: 'GET', url: '/admin' }), 401, 'FLOWD_ERR_UNAUTHENTICATED');
    expectProblem(await t.service.app.inject({ method: 'GET', url: '/admin', headers: reader.auth }), 404, 'FLOWD_ERR_NOT_FOUND');
    expectProblem(await t.service.app.inject({ method: 'GET', url: '/docs/../../etc/passwd' }), 401, 'FLOWD_ERR_UNAUTHENTICATED');
  });
});

describe('path confusion: no spelling of a protected path gets past the check', () => {
  // Every way to write "execute alpha" without a key. Sent raw over a socket (no client-side
  // normalisation) and through inject. Each must be refused (401) or match no route — and
  // nothing may run.
  const anonymousAttempts = [
    '/flows/alpha/execute',
    '/flows/alpha/execute/',
    '//flows/alpha/execute',
    '/flows//alpha/execute',
    '/flows/alpha%2Fexecute',
    '/flows/alpha%2fexecute',
    '/FLOWS/alpha/execute',
    '/Flows/Alpha/Execute',
    '/flows/alpha/EXECUTE',
    '/flows/alpha/execute?',
    '/flows/alpha/execute?x=/health/live',
    '/flows/alpha/execute;x=1',
    '/flows/alpha;x=1/execute',
    '/flows/%61lpha/execute',
    '/fl%6Fws/alpha/execute',
    '/flows/alpha/%65xecute',
    '/flows/alpha/./execute',
    '/flows/beta/../alpha/execute',
    '/flows/alpha/execute%00',
    '/flows/alpha%00/execute',
    '/flows/alpha/execute%20',
    '/flows/alpha/execute#/health/live',
    '/health/live/../../flows/alpha/execute',
    '/health/live/%2e%2e/%2e%2e/flows/alpha/execute',
    '/health/live%2F..%2F..%2Fflows%2Falpha%2Fexecute',
    '/health/live?/flows/alpha/execute',
    '/docs/../flows/alpha/execute',
    '/docs/static/..%2F..%2Fflows/alpha/execute',
    '/openapi.json/../flows/alpha/execute',
    '/openapi.json%23/../flows/alpha/execute',
    '/flows/alpha/execute/..;/',
    '/%2Fflows/alpha/execute',
    '/flows/alpha/execute\\',
    '\\flows\\alpha\\execute',
  ];

  it('raw over a socket: every spelling is 401 or an unmatched route, never run', async () => {
    const before = (await executions('alpha')).length;
    for (const path of anonymousAttempts) {
      const response = await rawHttp(port, 'POST', path, {}, { input: { n: 1 } });
      expect([400, 401, 404], `${path} → ${response.status} ${response.body.slice(0, 200)}`).toContain(response.status);
      if (response.status !== 400) expect(JSON.parse(response.body).code, path).not.toBe('FLOWD_ERR_FORBIDDEN');
      if (response.status === 404) throw new Error(`${path} answered 404 without a key: unmatched routes must need a key first`);
    }
    expect((await executions('alpha')).length).toBe(before);
  });

  it('through inject (client-side URL normalisation): every spelling is 401 and nothing runs', async () => {
    const before = (await executions()).length;
    for (const path of anonymousAttempts.filter((p) => !p.includes('\\'))) {
      const response = await t.service.app.inject({ method: 'POST', url: path, payload: { input: { n: 1 } } });
      expect(response.statusCode, path).toBe(401);
    }
    expect((await executions()).length).toBe(before);
  });

  // A key allowed to execute alpha only, trying to run beta.
  const crossFlowAttempts = [
    '/flows/beta/execute/',
    '//flows/beta/execute',
    '/flows/beta%2Fexecute',
    '/flows/alpha%2F..%2Fbeta/execute',
    '/flows/alpha/..%2Fbeta/execute',
    '/flows/alpha/../beta/execute',
    '/flows/alpha/execute/../../beta/execute',
    '/FLOWS/beta/execute',
    '/flows/BETA/execute',
    '/flows/Beta/execute',
    '/flows/beta;alpha/execute',
    '/flows/alpha;/../beta/execute',
    '/flows/%62eta/execute',
    '/flows/beta/execute?flow=alpha',
    '/flows/beta/execute?name=alpha',
    // Regression: a NUL byte in a flow name once reached the WWW-Authenticate header and made a 500.
    '/flows/alpha%00beta/execute',
    '/flows/alpha%0d%0aX-Injected:%201/execute',
    '/flows/beta%20/execute',
    '/flows/%20beta/execute',
    '/flows/beta.json/execute',
    '/flows/./beta/execute',
  ];

  it('raw over a socket: a key for alpha never runs beta, whatever the spelling', async () => {
    const before = (await executions('beta')).length;
    for (const path of crossFlowAttempts) {
      const response = await rawHttp(port, 'POST', path, execAlpha.auth, { input: { n: 1 } });
      // 405: the spelling reached GET /flows/{name} (a name with a slash): nothing runs either.
      expect([400, 403, 404, 405], `${path} → ${response.status} ${response.body.slice(0, 200)}`).toContain(response.status);
    }
    expect((await executions('beta')).length).toBe(before);
  });

  it('through inject: a key for alpha never runs beta', async () => {
    const before = (await executions('beta')).length;
    for (const path of crossFlowAttempts) {
      const response = await t.service.app.inject({ method: 'POST', url: path, headers: execAlpha.auth, payload: { input: { n: 1 } } });
      expect([400, 403, 404, 405], `${path} → ${response.statusCode}`).toContain(response.statusCode);
    }
    expect((await executions('beta')).length).toBe(before);
  });

  it('the flow checked is the decoded route parameter the handler runs (percent-encoding cannot split them)', async () => {
    // %61lpha is alpha for the router and for the check: allowed, and it is alpha that runs.
    const response = await rawHttp(port, 'POST', '/flows/%61lpha/execute', execAlpha.auth, { input: { n: 2 } });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body).flow).toBe('alpha');
    // A flow name smuggling a separator is a different (invalid) name: refused for a scoped key.
    const smuggled = await rawHttp(port, 'POST', '/flows/alpha%7Cbeta/execute', execAlpha.auth, { input: {} });
    expect(smuggled.status).toBe(403);
  });

  it('HEAD and OPTIONS do not open GET or POST routes', async () => {
    // HEAD answers carry no body: the status and the challenge header are what count.
    const anonymousHead = await t.service.app.inject({ method: 'HEAD', url: '/flows' });
    expect(anonymousHead.statusCode).toBe(401);
    expect(anonymousHead.headers['www-authenticate']).toBe('Bearer realm="flowd"');
    const readerHead = await t.service.app.inject({ method: 'HEAD', url: '/executions', headers: reader.auth });
    expect(readerHead.statusCode).toBe(403);
    expect((await t.service.app.inject({ method: 'HEAD', url: '/flows', headers: reader.auth })).statusCode).toBe(200);
    expectProblem(await t.service.app.inject({ method: 'OPTIONS', url: '/flows/alpha/execute' }), 401, 'FLOWD_ERR_UNAUTHENTICATED');
    const options = await t.service.app.inject({ method: 'OPTIONS', url: '/flows/alpha/execute', headers: reader.auth });
    expectProblem(options, 405, 'FLOWD_ERR_METHOD_NOT_ALLOWED');
    expect(options.headers['allow']).toBe('POST');
    const head = await rawHttp(port, 'HEAD', `/executions`, {});
    expect(head.status).toBe(401);
  });

  it('method-override headers are not honoured', async () => {
    const before = (await executions('beta')).length;
    for (const header of ['x-http-method-override', 'x-http-method', 'x-method-override']) {
      const response = await t.service.app.inject({ method: 'GET', url: '/flows/beta/execute', headers: { ...execAlpha.auth, [header]: 'POST' } });
      expectProblem(response, 405, 'FLOWD_ERR_METHOD_NOT_ALLOWED');
      expect(response.headers['allow'], header).toBe('POST');
    }
    expect((await executions('beta')).length).toBe(before);
  });

  it('a duplicated Authorization header cannot smuggle a second key', async () => {
    // Node keeps the first Authorization header and drops repeats; the first here is the weak key.
    const response = await rawHttp(port, 'GET', '/executions', { authorization: `Bearer ${reader.key}\r\nAuthorization: Bearer ${admin.key}` });
    expect(response.status).toBe(403);
  });
});
