/**
 * Issue rule 8 (fuzzing) — property-based fuzzing of the HTTP surface with fast-check: random
 * bodies, headers, flow names and paths through `app.inject`. No input may make the service
 * answer 500, hang, or die; every error is problem+json with a catalogued code.
 * Bounded: 200 runs per property, 5 s per request.
 */
import fc from 'fast-check';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/errors.js';
import { makeKey, startService, type TestService } from './helpers.js';

const RUNS = Number(process.env["FUZZ_RUNS"] ?? 200);
const REQUEST_TIMEOUT_MS = 5000;
const exec = makeKey('fuzz', ['flows:execute', 'flows:read', 'executions:read']);

const FLOWS = [
  { name: 'alpha', phases: [{ id: 'echo', component: 'transform', request: '{% input %}' }] },
  {
    name: 'typed',
    input: {
      type: 'object',
      required: ['n', 'items'],
      properties: { n: { type: 'integer' }, items: { type: 'array', maxItems: 5 }, s: { type: 'string' } },
    },
    phases: [
      {
        id: 'route',
        decision: [
          {
            when: '{% input.n > 3 %}',
            phases: [{ id: 'each', map: { items: '{% input.items %}', concurrency: 2, phases: [{ id: 'one', component: 'transform', request: "{% {'v': item, 'i': index} %}" }] } }],
          },
          { otherwise: [{ id: 'double', component: 'transform', request: '{% input.n * 2 %}' }] },
        ],
      },
    ],
  },
  {
    name: 'loose',
    phases: [
      { id: 'calc', component: 'transform', request: "{% $uppercase(input.s) & '-' & $string(input.n + 1) %}" },
      { id: 'pick', component: 'transform', request: '{% input.list[input.i] %}', on_error: { fallback: '{% null %}' } },
    ],
  },
];

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/json; charset=latin1',
  'application/json;charset=utf-16',
  'application/problem+json',
  'application/jsonx',
  'text/plain',
  'text/json',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=xyz',
  'application/octet-stream',
  '',
  ';',
  'application/json; boundary=',
];

const printable = (maxLength: number) => fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength });

const flowName = fc.oneof(
  fc.constantFrom('alpha', 'typed', 'loose', 'nope', '..', '.', 'ALPHA', 'alpha ', '%2e%2e', 'a'.repeat(65)),
  fc.stringMatching(/^[a-z0-9_-]{1,70}$/),
  fc.string({ maxLength: 40 }),
);

const jsonBody = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)),
  fc.record({ input: fc.jsonValue({ maxDepth: 4 }) }, { requiredKeys: [] }).map((value) => JSON.stringify(value)),
  fc
    .record({
      input: fc.record({ n: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(null)), items: fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 8 }), s: fc.oneof(fc.string(), fc.integer()), list: fc.array(fc.integer(), { maxLength: 3 }), i: fc.oneof(fc.integer({ min: -3, max: 5 }), fc.string()) }, { requiredKeys: [] }),
      options: fc.record({ timeoutMs: fc.oneof(fc.integer(), fc.double(), fc.string()), enableCaching: fc.oneof(fc.boolean(), fc.string()), parallelExecution: fc.boolean(), callbackUrl: fc.string(), extra: fc.jsonValue() }, { requiredKeys: [] }),
    }, { requiredKeys: [] })
    .map((value) => JSON.stringify(value)),
  fc.string({ maxLength: 200 }),
  fc.constantFrom('', ' ', '{', '}', 'null', '[]', '{"input":', '{"input":{}}{"input":{}}', '\u0000', '{"input":{"__proto__":{"x":1}}}', '{"input":1e400}', '{"input":"\\ud800"}', `{"input":${'['.repeat(200)}${']'.repeat(200)}}`),
);

/** Mostly well-typed inputs for the real flows (so they run), sometimes anything. */
const flowBody = fc.oneof(
  {
    arbitrary: fc
      .record({
        n: fc.integer({ min: -10, max: 10 }),
        items: fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 6 }),
        s: fc.oneof(fc.string({ maxLength: 10 }), fc.integer()),
        list: fc.array(fc.integer(), { maxLength: 3 }),
        i: fc.oneof(fc.integer({ min: -3, max: 5 }), fc.string({ maxLength: 3 })),
      }, { requiredKeys: ['n', 'items'] })
      .map((input) => JSON.stringify({ input })),
    weight: 3,
  },
  { arbitrary: jsonBody, weight: 1 },
);

const headers = fc.record(
  {
    'content-type': fc.constantFrom(...CONTENT_TYPES),
    authorization: fc.oneof(fc.constant(`Bearer ${exec.key}`), fc.constant(`Bearer ${exec.key}`), printable(80), fc.constant('Bearer ')),
    prefer: fc.oneof(fc.constant('return=minimal'), printable(30)),
    traceparent: fc.oneof(fc.constant('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'), printable(60)),
    'x-request-id': printable(140),
    accept: fc.oneof(fc.constant('application/json'), fc.constant('application/x-ndjson'), printable(30)),
  },
  { requiredKeys: [] },
);

let t: TestService;

beforeAll(async () => {
  t = await startService(FLOWS, { API_KEYS: exec.entry, RATE_LIMIT_PER_MINUTE: '0', MAX_INFLIGHT_EXECUTIONS: '1000', LOG_LEVEL: 'fatal' });
});

afterAll(async () => {
  await t.close();
});

async function injectWithDeadline(options: InjectOptions): Promise<LightMyRequestResponse> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)), REQUEST_TIMEOUT_MS);
  });
  try {
    return await Promise.race([t.service.app.inject(options), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function expectWellFormed(response: LightMyRequestResponse, what: string): void {
  expect(response.statusCode, `${what} → ${response.statusCode} ${response.body.slice(0, 300)}`).not.toBe(500);
  expect(response.statusCode).toBeLessThan(600);
  if (response.statusCode >= 400 && response.body !== '') {
    expect(String(response.headers['content-type']), what).toMatch(/^application\/problem\+json/);
    const code = (JSON.parse(response.body) as { code: string }).code;
    expect(Object.keys(ERROR_CODES), what).toContain(code);
  }
}

describe('fuzzing POST /flows/{name}/execute', () => {
  it(`${RUNS} random bodies, headers and flow names: never a 500, never a hang`, async () => {
    await fc.assert(
      fc.asyncProperty(flowName, fc.constantFrom('', '/', '?x=1', '?'), jsonBody, headers, async (name, suffix, body, requestHeaders) => {
        const url = `/flows/${encodeURIComponent(name)}/execute${suffix}`;
        const response = await injectWithDeadline({ method: 'POST', url, headers: requestHeaders, payload: body });
        expectWellFormed(response, `POST ${url} ${JSON.stringify(requestHeaders)} ${body.slice(0, 200)}`);
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
  });

  it(`${RUNS} structurally valid requests with random inputs to real flows: answers are 200, 4xx or 422, never 500`, async () => {
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('alpha', 'typed', 'loose'), flowBody, async (name, body) => {
        const response = await injectWithDeadline({ method: 'POST', url: `/flows/${name}/execute`, headers: { 'content-type': 'application/json', authorization: `Bearer ${exec.key}` }, payload: body });
        expectWellFormed(response, `${name} ${body.slice(0, 200)}`);
        seen.set(response.statusCode, (seen.get(response.statusCode) ?? 0) + 1);
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
    // Not vacuous: flows really ran (200), inputs were refused (400) and expressions failed (422).
    expect(seen.get(200) ?? 0, JSON.stringify([...seen])).toBeGreaterThan(10);
    expect(seen.get(400) ?? 0, JSON.stringify([...seen])).toBeGreaterThan(10);
    expect(seen.get(422) ?? 0, JSON.stringify([...seen])).toBeGreaterThan(0);
  });
});

describe('fuzzing every route', () => {
  const segment = fc.oneof(fc.constantFrom('flows', 'executions', 'health', 'live', 'docs', 'openapi.json', 'alpha', 'execute', 'logs', 'cancel', 'retry', 'diagram', '..', '.', ''), fc.string({ maxLength: 12 }).map(encodeURIComponent));
  const path = fc.array(segment, { minLength: 1, maxLength: 5 }).map((segments) => `/${segments.join('/')}`);

  it(`${RUNS} random paths and methods, with and without a key: never a 500`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'), path, fc.boolean(), jsonBody, async (method, url, withKey, body) => {
        const response = await injectWithDeadline({
          method: method,
          url,
          headers: { 'content-type': 'application/json', ...(withKey ? { authorization: `Bearer ${exec.key}` } : {}) },
          ...(method === 'GET' || method === 'HEAD' ? {} : { payload: body }),
        });
        expectWellFormed(response, `${method} ${url}`);
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
  });

  it('the service is still alive and answering afterwards', async () => {
    expect((await t.service.app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
  });
});
