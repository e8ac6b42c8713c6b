/**
 * Issue rule 4 (pollution) — neither request bodies, query strings, upstream responses, flow files
 * nor expressions can pollute a prototype. After every attempt: `({}).polluted === undefined`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { createService } from '../../src/service.js';
import { startServer, type TestServer } from './egress/helpers.js';
import { echoFlow, expectProblem, json, startService, writeFlowsDir, type TestService } from './helpers.js';

function expectNoPollution(): void {
  expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  expect(([] as unknown as Record<string, unknown>)['polluted']).toBeUndefined();
  expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
  expect(Object.prototype.hasOwnProperty.call(Array.prototype, 'polluted')).toBe(false);
  expect(Object.prototype.hasOwnProperty.call(Function.prototype, 'polluted')).toBe(false);
}

/** Upstream answers: path → raw JSON text (written byte for byte, escapes included). */
const UPSTREAM_BODIES: Record<string, string> = {
  '/ok': '{"fine":true,"nested":{"a":1}}',
  '/proto': '{"__proto__":{"polluted":"yes"}}',
  '/constructor': '{"constructor":{"prototype":{"polluted":"yes"}}}',
  '/escaped-proto': '{"\\u005f\\u005fproto\\u005f\\u005f":{"polluted":"yes"}}',
  '/escaped-constructor': '{"constr\\u0075ctor":{"prot\\u006ftype":{"polluted":"yes"}}}',
  '/nested': '{"items":[{"a":{"b":{"__proto__":{"polluted":"yes"}}}}]}',
  '/array-proto': '[{"__proto__":{"polluted":"yes"}}]',
};

let upstream: TestServer;
let t: TestService;

beforeAll(async () => {
  upstream = await startServer((req, res) => {
    const body = UPSTREAM_BODIES[req.url ?? ''] ?? '{}';
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  });
  t = await startService(
    [
      echoFlow('echo'),
      {
        name: 'fetch',
        input: { type: 'object', required: ['path'], properties: { path: { type: 'string' } } },
        components: { api: { adapter: 'http', base_url: upstream.origin } },
        phases: [
          { id: 'get', component: 'api', request: { method: 'GET', path: '{% input.path %}' }, output: '{% result.body %}' },
          { id: 'merged', component: 'transform', request: '{% $merge([{}, phases.get]) %}' },
        ],
      },
      {
        name: 'construct',
        phases: [
          { id: 'a', component: 'transform', request: "{% {'__proto__': {'polluted': 'yes'}, 'constructor': {'prototype': {'polluted': 'yes'}}} %}" },
          { id: 'b', component: 'transform', request: "{% $merge([{}, phases.a, {'__proto__': {'polluted': 'yes'}}]) %}" },
          { id: 'c', component: 'transform', request: "{% $spread(phases.b) %}" },
        ],
      },
    ],
    { EGRESS_ALLOW: '127.0.0.1', RATE_LIMIT_PER_MINUTE: '0' },
  );
});

afterAll(async () => {
  await t.close();
  await upstream.close();
});

afterEach(() => {
  expectNoPollution();
});

describe('request bodies', () => {
  const payloads = [
    '{"input":{"__proto__":{"polluted":"yes"}}}',
    '{"__proto__":{"polluted":"yes"},"input":{}}',
    '{"input":{"constructor":{"prototype":{"polluted":"yes"}}}}',
    '{"input":{"a":[{"b":{"__proto__":{"polluted":"yes"}}}]}}',
    '{"input":{"\\u005f\\u005fproto\\u005f\\u005f":{"polluted":"yes"}}}',
    '{"input":{"constr\\u0075ctor":{"prototype":{"polluted":"yes"}}}}',
    '{"input":{},"options":{"__proto__":{"polluted":"yes"}}}',
  ];
  for (const payload of payloads) {
    it(`refuses ${payload.slice(0, 60)} with 400, polluting nothing`, async () => {
      const response = await t.service.app.inject({ method: 'POST', url: '/flows/echo/execute', headers: { 'content-type': 'application/json' }, payload });
      expectProblem(response, 400, 'FLOWD_ERR_REQUEST_INVALID');
    });
  }

  it('a content type other than JSON is never parsed (415), so no other parser sees the keys', async () => {
    const response = await t.service.app.inject({ method: 'POST', url: '/flows/echo/execute', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: '__proto__[polluted]=yes&input[a]=1' });
    expectProblem(response, 415, 'FLOWD_ERR_UNSUPPORTED_MEDIA_TYPE');
  });

  it('query strings with pollution keys are inert', async () => {
    for (const query of ['__proto__[polluted]=yes', '__proto__.polluted=yes', 'constructor[prototype][polluted]=yes', 'flow=x&__proto__=polluted']) {
      const response = await t.service.app.inject({ method: 'GET', url: `/executions?${query}` });
      expect(response.statusCode, query).not.toBe(500);
    }
  });
});

describe('upstream responses are parsed safely too', () => {
  it('a clean upstream body flows through (the path under test is live)', async () => {
    const response = await t.service.app.inject({ method: 'POST', url: '/flows/fetch/execute', payload: { input: { path: '/ok' } } });
    expect(response.statusCode).toBe(200);
    expect(json(response)['output']).toEqual({ fine: true, nested: { a: 1 } });
  });

  for (const path of Object.keys(UPSTREAM_BODIES).filter((p) => p !== '/ok')) {
    it(`an upstream answering ${UPSTREAM_BODIES[path]} is refused as a component failure, not parsed`, async () => {
      const response = await t.service.app.inject({ method: 'POST', url: '/flows/fetch/execute', payload: { input: { path } } });
      const body = expectProblem(response, 502, 'FLOWD_ERR_COMPONENT_FAILED');
      expect(String(body['detail'])).toMatch(/__proto__|constructor|prototype/);
    });
  }
});

describe('expressions and flow files', () => {
  it('objects built by expressions with __proto__ / constructor keys stay plain data', async () => {
    const response = await t.service.app.inject({ method: 'POST', url: '/flows/construct/execute', payload: { input: {} } });
    expect(response.statusCode).not.toBe(500);
  });

  it('flow files (YAML and JSON) carrying __proto__ keys everywhere pollute nothing', async () => {
    const dir = writeFlowsDir([]);
    writeFileSync(
      join(dir.dir, 'yaml-proto.yaml'),
      [
        'name: yaml-proto',
        '__proto__: { polluted: yes }',
        'input:',
        '  type: object',
        '  __proto__: { polluted: yes }',
        '  properties: { __proto__: { type: string } }',
        'examples: { __proto__: { polluted: yes } }',
        'components:',
        '  m: { adapter: mock, responses: { default: { body: { __proto__: { polluted: yes }, ok: true } } } }',
        'phases:',
        '  - { id: a, component: m, request: { __proto__: { polluted: yes } } }',
      ].join('\n'),
    );
    writeFileSync(
      join(dir.dir, 'json-proto.json'),
      '{"name":"json-proto","constructor":{"prototype":{"polluted":"yes"}},"phases":[{"id":"a","component":"transform","request":{"__proto__":{"polluted":"yes"}}}]}',
    );
    try {
      const service = await createService(loadConfig({ FLOWS_DIR: dir.dir, STORE: 'memory', LOG_LEVEL: 'silent' }), { env: {} }).catch((error: unknown) => error);
      // Loading may refuse these files (unknown keys); it must not pollute or crash.
      if (!(service instanceof Error)) {
        const loaded = service as Awaited<ReturnType<typeof createService>>;
        for (const flow of loaded.built.flows.keys()) {
          const response = await loaded.app.inject({ method: 'POST', url: `/flows/${flow}/execute`, payload: { input: {} } });
          expect(response.statusCode).not.toBe(500);
        }
        await loaded.close();
      } else {
        expect((service).name).toBe('ConfigurationError');
      }
    } finally {
      dir.remove();
    }
  });
});
