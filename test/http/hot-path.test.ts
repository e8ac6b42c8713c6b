/**
 * The per-request shortcuts of the HTTP layer (issue 8) answer exactly what the long way did:
 * the `{"input": …}` envelope taken without the zod schema, Prefer parsed without regular
 * expressions, and the callback-style hooks (one onSend for x-request-id and masking, auth and rate
 * limit in onRequest, metrics in onResponse) on every kind of answer.
 */
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePrefer, MAX_WAIT_SECONDS, type Preferences } from '../../src/http/prefer.js';
import { parseExecuteEnvelope } from '../../src/http/routes/execute.js';
import { ExecuteBodySchema } from '../../src/http/schemas.js';
import { apiKeysEnv, echoFlow, expectProblem, makeKey, startService, type TestService } from '../security/helpers.js';

/** What a caller of the parse sees: the data, or the issues. */
function outcome(result: ReturnType<typeof ExecuteBodySchema.safeParse>): unknown {
  return result.success ? { data: result.data } : { issues: result.error.issues };
}

describe('parseExecuteEnvelope', () => {
  const bodies: unknown[] = [
    { input: 1 },
    { input: null },
    { input: { a: [1, { b: 'c' }] } },
    { input: [] },
    JSON.parse('{"input":{"name":"bench","items":[1,2,3,4,5]}}'),
    {},
    { input: 1, options: {} },
    { input: 1, options: { timeoutMs: 5, enableCaching: false } },
    { input: 1, options: { timeoutMs: -1 } },
    { input: 1, extra: true },
    { options: {} },
    { Input: 1 },
    Object.assign(Object.create(null) as object, { input: 1 }),
    Object.create({ input: 1 }) as object,
    [],
    [{ input: 1 }],
    null,
    undefined,
    'input',
    42,
  ];

  it.each(bodies.map((body) => [body]))('answers what ExecuteBodySchema.safeParse answers for %j', (body) => {
    expect(outcome(parseExecuteEnvelope(body))).toStrictEqual(outcome(ExecuteBodySchema.safeParse(body)));
  });

  it('answers what ExecuteBodySchema.safeParse answers for any JSON body', () => {
    const body = fc.oneof(
      fc.jsonValue(),
      fc.record({ input: fc.jsonValue() }),
      fc.record({ input: fc.jsonValue(), options: fc.jsonValue() }, { requiredKeys: [] }),
      fc.dictionary(fc.constantFrom('input', 'options', 'extra', '__proto__'), fc.jsonValue()),
    );
    fc.assert(
      fc.property(body, (value) => {
        const parsed = JSON.parse(JSON.stringify(value) ?? 'null') as unknown;
        expect(outcome(parseExecuteEnvelope(parsed))).toStrictEqual(outcome(ExecuteBodySchema.safeParse(parsed)));
      }),
      { numRuns: 500 },
    );
  });

  it('keeps the input itself (no copy)', () => {
    const input = { deep: { list: [1, 2] } };
    const parsed = parseExecuteEnvelope({ input });
    expect(parsed.success && parsed.data.input).toBe(input);
  });
});

/** parsePrefer as it was before it lost its regular expressions: the reference it must match. */
function referenceParsePrefer(header: string | string[] | undefined): Preferences {
  const preferences: Preferences = { respondAsync: false, waitSeconds: undefined, minimal: false };
  const values = header === undefined ? [] : Array.isArray(header) ? header : [header];
  for (const value of values) {
    for (const item of value.split(',')) {
      const [token = ''] = item.split(';');
      const [rawName = '', rawValue] = token.split('=');
      const name = rawName.trim().toLowerCase();
      const setting = rawValue?.trim().replace(/^"(.*)"$/, '$1');
      if (name === 'respond-async') preferences.respondAsync = true;
      else if (name === 'return' && setting === 'minimal') preferences.minimal = true;
      else if (name === 'wait' && setting !== undefined && /^\d{1,7}$/.test(setting)) {
        preferences.waitSeconds = Math.min(Number(setting), MAX_WAIT_SECONDS);
      }
    }
  }
  return preferences;
}

describe('parsePrefer', () => {
  it.each([
    [undefined],
    [''],
    ['return=minimal'],
    ['Return = "minimal" ; x=1'],
    ['return="minimal'],
    ['return=""'],
    ['return="'],
    ['respond-async, wait=10'],
    ['wait="5"'],
    ['wait=99999999'],
    ['wait=4000'],
    [['respond-async', 'return=minimal']],
    ['return=minimal\u2028'],
  ])('reads %j as before', (header) => {
    expect(parsePrefer(header)).toStrictEqual(referenceParsePrefer(header));
  });

  it('reads any header as before', () => {
    const piece = fc.oneof(
      fc.constantFrom('return', 'Return', 'respond-async', 'wait', 'handling', '=', ',', ';', '"', ' ', 'minimal', 'representation', '10', '0', '12345678'),
      fc.string({ maxLength: 6 }),
    );
    const header = fc.array(piece, { maxLength: 12 }).map((pieces) => pieces.join(''));
    fc.assert(
      fc.property(fc.oneof(header, fc.array(header, { maxLength: 3 })), (value) => {
        expect(parsePrefer(value)).toStrictEqual(referenceParsePrefer(value));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('hooks on every kind of answer (auth on, rate limit 3 per minute, a configured secret)', () => {
  const key = makeKey('exec', ['flows:execute', 'executions:read']);
  const reader = makeKey('reader', ['flows:read']);
  const SECRET = 'hot-path-secret-7c41';
  let t: TestService;

  beforeAll(async () => {
    // The mock component makes the secret a configured one (masked by value in every body).
    const vault = { adapter: 'mock', responses: { default: { body: { token: '${secret:HOT_PATH_SECRET}' } } } };
    const flow = echoFlow('echo', { components: { vault }, phases: [{ id: 'vault', component: 'vault' }, { id: 'echo', component: 'transform', request: '{% input %}' }] });
    t = await startService([flow], { API_KEYS: apiKeysEnv(key, reader), RATE_LIMIT_PER_MINUTE: '3', HOT_PATH_SECRET: SECRET, LOG_LEVEL: 'warn' });
  });
  afterAll(async () => t.close());

  const execute = (headers: Record<string, string>, payload: string, name = 'echo'): Promise<LightMyRequestResponse> =>
    t.service.app.inject({ method: 'POST', url: `/flows/${name}/execute`, headers: { 'content-type': 'application/json', ...headers }, payload });

  function expectRequestId(response: LightMyRequestResponse, id: string): void {
    expect(response.headers['x-request-id']).toBe(id);
  }

  it('puts x-request-id on answers from the handler, the body parser, the 404 handler and each onRequest guard', async () => {
    const ok = await execute({ ...key.auth, 'x-request-id': 'hp-ok' }, JSON.stringify({ input: { said: `hello ${SECRET}` } }));
    expect(ok.statusCode).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ status: 'succeeded', output: { said: 'hello [REDACTED]' } });
    expect(ok.body).not.toContain(SECRET);
    expectRequestId(ok, 'hp-ok');

    const unauthenticated = await execute({ 'x-request-id': 'hp-401' }, JSON.stringify({ input: {} }));
    expectProblem(unauthenticated, 401, 'FLOWD_ERR_UNAUTHENTICATED');
    expectRequestId(unauthenticated, 'hp-401');

    const forbidden = await execute({ ...reader.auth, 'x-request-id': 'hp-403' }, JSON.stringify({ input: {} }));
    expectProblem(forbidden, 403, 'FLOWD_ERR_FORBIDDEN');
    expectRequestId(forbidden, 'hp-403');

    const malformed = await execute({ ...key.auth, 'x-request-id': 'hp-400' }, `{"input": "${SECRET}`);
    expectProblem(malformed, 400, 'FLOWD_ERR_REQUEST_INVALID');
    expect(malformed.body).not.toContain(SECRET);
    expectRequestId(malformed, 'hp-400');

    // The key's third request within the minute; its fourth is limited.
    expect((await execute(key.auth, JSON.stringify({ input: {} }))).statusCode).toBe(200);
    const limited = await execute({ ...key.auth, 'x-request-id': 'hp-429' }, JSON.stringify({ input: {} }));
    expectProblem(limited, 429, 'FLOWD_ERR_RATE_LIMITED');
    expectRequestId(limited, 'hp-429');
    expect(limited.headers['retry-after']).toBeDefined();

    const unmatched = await t.service.app.inject({ method: 'GET', url: '/nowhere', headers: { ...reader.auth, 'x-request-id': 'hp-404' } });
    expectProblem(unmatched, 404, 'FLOWD_ERR_NOT_FOUND');
    expectRequestId(unmatched, 'hp-404');
  });

  it('counts every answer in the http metrics, including those of the onRequest guards', async () => {
    const text = await t.service.metrics.registry.metrics();
    for (const status of ['200', '401', '403', '429']) {
      expect(text).toContain(`flowd_http_requests_total{method="POST",route="/flows/:name/execute",status_code="${status}"}`);
    }
    expect(text).toContain('flowd_http_requests_total{method="GET",route="unmatched",status_code="404"}');
  });
});
