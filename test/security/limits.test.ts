/**
 * Issue rule 6 — every limit is explicit, and each violation is a specific problem+json, never a
 * 500: body size, JSON depth and width, header size, request timeout, flow name format, phase
 * output and execution data size, map fan-out, parallel width, sub-flow depth.
 */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../src/errors.js';
import { MAX_PARALLEL_BRANCHES } from '../../src/flows/schema.js';
import { echoFlow, expectProblem, startService, type TestService } from './helpers.js';
import { rawHttp, rawRequest } from './raw-http.js';

const mapFlow = {
  name: 'fanout',
  input: { type: 'object', properties: { items: { type: 'array' }, size: { type: 'integer' } } },
  phases: [
    {
      id: 'each',
      map: { items: '{% input.items %}', concurrency: 4, phases: [{ id: 'one', component: 'transform', request: "{% {'item': item, 'pad': $pad('', input.size, 'y')} %}" }] },
    },
  ],
};

/** d0 → d1 → … → d5, each calling the next as a sub-flow. */
const chain = Array.from({ length: 6 }, (_, i) =>
  i === 5 ? echoFlow('d5') : { name: `d${i}`, phases: [{ id: `call_d${i + 1}`, flow: `d${i + 1}` }] },
);

let t: TestService;
let port: number;

beforeAll(async () => {
  t = await startService([echoFlow('alpha'), mapFlow, ...chain], {
    BODY_LIMIT_BYTES: '4096',
    MAX_JSON_DEPTH: '8',
    MAX_JSON_WIDTH: '50',
    MAX_HEADER_BYTES: '2048',
    REQUEST_TIMEOUT_MS: '1000',
    MAX_PHASE_OUTPUT_BYTES: '3000',
    MAX_RECORD_BYTES: '6000',
    MAX_MAP_ITEMS: '20',
    MAX_SUBFLOW_DEPTH: '3',
    RATE_LIMIT_PER_MINUTE: '0',
  });
  await t.service.app.listen({ host: '127.0.0.1', port: 0 });
  port = (t.service.app.server.address() as AddressInfo).port;
});

afterAll(async () => {
  await t.close();
});

const execute = (flow: string, body: unknown) =>
  t.service.app.inject({ method: 'POST', url: `/flows/${flow}/execute`, headers: { 'content-type': 'application/json' }, payload: typeof body === 'string' ? body : JSON.stringify(body) });

const nested = (depth: number): unknown => (depth === 0 ? 1 : { a: nested(depth - 1) });

describe('request bodies', () => {
  it('BODY_LIMIT_BYTES: a larger body is 413 FLOWD_ERR_PAYLOAD_TOO_LARGE', async () => {
    expectProblem(await execute('alpha', { input: { s: 'x'.repeat(5000) } }), 413, 'FLOWD_ERR_PAYLOAD_TOO_LARGE');
  });

  it('BODY_LIMIT_BYTES holds when Content-Length lies (chunked body over a socket)', async () => {
    const chunk = `{"input":{"s":"${'x'.repeat(6000)}"}}`;
    const response = await rawRequest(port, [
      `POST /flows/alpha/execute HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`,
      `${chunk.length.toString(16)}\r\n${chunk}\r\n0\r\n\r\n`,
    ]);
    expect(response.status).toBe(413);
    expect(JSON.parse(response.body).code).toBe('FLOWD_ERR_PAYLOAD_TOO_LARGE');
  });

  it('MAX_JSON_DEPTH: a body nested deeper is 400 naming the limit', async () => {
    const body = expectProblem(await execute('alpha', { input: nested(10) }), 400, 'FLOWD_ERR_REQUEST_INVALID');
    expect(String(body['detail'])).toContain('MAX_JSON_DEPTH');
    expect((await execute('alpha', { input: nested(5) })).statusCode).toBe(200);
  });

  it('a pathologically deep body (1000 levels within the size limit) is a 400, not a stack overflow', async () => {
    const text = `{"input":${'['.repeat(1000)}${']'.repeat(1000)}}`;
    expectProblem(await execute('alpha', text), 400, 'FLOWD_ERR_REQUEST_INVALID');
  });

  it('MAX_JSON_WIDTH: an object with too many members or an array with too many items is 400 naming the limit', async () => {
    const wideObject = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i]));
    const objectBody = expectProblem(await execute('alpha', { input: wideObject }), 400, 'FLOWD_ERR_REQUEST_INVALID');
    expect(String(objectBody['detail'])).toContain('MAX_JSON_WIDTH');
    const arrayBody = expectProblem(await execute('alpha', { input: Array.from({ length: 51 }, (_, i) => i) }), 400, 'FLOWD_ERR_REQUEST_INVALID');
    expect(String(arrayBody['detail'])).toContain('MAX_JSON_WIDTH');
    expect((await execute('alpha', { input: { list: Array.from({ length: 50 }, (_, i) => i) } })).statusCode).toBe(200);
  });
});

describe('connection-level limits (real socket: Node enforces them before Fastify)', () => {
  it('MAX_HEADER_BYTES: oversized headers get 431 problem+json FLOWD_ERR_HEADERS_TOO_LARGE', async () => {
    const response = await rawHttp(port, 'GET', '/health/live', { 'x-padding': 'p'.repeat(4096) });
    expect(response.status).toBe(431);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(response.body)).toMatchObject({ code: 'FLOWD_ERR_HEADERS_TOO_LARGE', status: 431 });
  });

  it('REQUEST_TIMEOUT_MS: a slow-drip request (slowloris) gets 408 problem+json FLOWD_ERR_REQUEST_TIMEOUT', async () => {
    const started = Date.now();
    const head = 'POST /flows/alpha/execute HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n';
    // One byte every 200 ms: the socket is never idle, so only the request deadline stops it.
    const response = await rawRequest(port, [head, ...'{"input":{"s":"'.split('')], { gapMs: 200, timeoutMs: 8000 });
    expect(response.status).toBe(408);
    expect(JSON.parse(response.body)).toMatchObject({ code: 'FLOWD_ERR_REQUEST_TIMEOUT', status: 408 });
    expect(Date.now() - started).toBeLessThan(4000);
  });
});

describe('flow names are names, not paths', () => {
  const attempts = [
    '..%2F..%2Fetc%2Fpasswd',
    '..',
    '%2e%2e',
    '.hidden',
    'UPPER',
    'a'.repeat(65),
    'white%20space',
    'semi%3Bcolon',
    'nul%00byte',
    '%C3%A9t%C3%A9',
    '-leading-dash',
  ];
  for (const name of attempts) {
    it(`POST /flows/${name.slice(0, 30)}/execute → 400 FLOWD_ERR_REQUEST_INVALID (or 404 when it is not a single segment)`, async () => {
      const response = await t.service.app.inject({ method: 'POST', url: `/flows/${name}/execute`, payload: { input: {} } });
      expect([400, 404]).toContain(response.statusCode);
      expectProblem(response, response.statusCode, response.statusCode === 400 ? 'FLOWD_ERR_REQUEST_INVALID' : 'FLOWD_ERR_NOT_FOUND');
    });
  }

  it('GET /flows/{name} with a traversal is 400, never a file', async () => {
    for (const name of ['..%2F..%2Fetc%2Fpasswd', '%2e%2e%2fpackage.json', 'alpha.json']) {
      const response = await t.service.app.inject({ method: 'GET', url: `/flows/${name}` });
      expectProblem(response, 400, 'FLOWD_ERR_REQUEST_INVALID');
      expect(response.body).not.toMatch(/root:|"dependencies"/);
    }
  });
});

describe('what executions produce', () => {
  it('MAX_PHASE_OUTPUT_BYTES: a phase producing more fails with 422 FLOWD_ERR_LIMIT_EXCEEDED', async () => {
    const body = expectProblem(await execute('alpha', { input: { s: 'x'.repeat(3500) } }), 422, 'FLOWD_ERR_LIMIT_EXCEEDED');
    expect(String(body['detail'])).toContain('MAX_PHASE_OUTPUT_BYTES');
    expect((body['execution'] as { status: string }).status).toBe('failed');
  });

  it('MAX_RECORD_BYTES: phases that together produce more fail the execution with 422', async () => {
    // 12 items producing ~600 bytes each: each far under the phase limit, together past 6000 bytes.
    const items = Array.from({ length: 12 }, (_, i) => i);
    const body = expectProblem(await execute('fanout', { input: { items, size: 600 } }), 422, 'FLOWD_ERR_LIMIT_EXCEEDED');
    expect(String(body['detail'])).toContain('MAX_RECORD_BYTES');
    expect((await execute('fanout', { input: { items: items.slice(0, 3), size: 600 } })).statusCode).toBe(200);
  });

  it('MAX_MAP_ITEMS: a map over more items fails with 422 before any item runs', async () => {
    const body = expectProblem(await execute('fanout', { input: { items: Array.from({ length: 21 }, (_, i) => i), size: 1 } }), 422, 'FLOWD_ERR_LIMIT_EXCEEDED');
    expect(String(body['detail'])).toMatch(/21 items, more than its limit of 20/);
    const execution = body['execution'] as { phases: { id: string }[] };
    expect(execution.phases.filter((phase) => phase.id === 'one')).toHaveLength(0);
  });

  it('MAX_SUBFLOW_DEPTH: sub-flows nested deeper fail with 422; within the limit they run', async () => {
    const body = expectProblem(await execute('d0', { input: {} }), 422, 'FLOWD_ERR_LIMIT_EXCEEDED');
    expect(String(body['detail'])).toMatch(/sub-flow depth limit \(3\)/);
    expect((await execute('d2', { input: {} })).statusCode).toBe(200);
  });
});

describe('parallel width is bounded at load', () => {
  const parallel = (branches: number) => ({
    name: 'wide',
    phases: [
      {
        id: 'fan',
        parallel: Object.fromEntries(Array.from({ length: branches }, (_, i) => [`b${i}`, [{ id: `p${i}`, component: 'transform', request: i }]])),
      },
    ],
  });

  it(`more than ${MAX_PARALLEL_BRANCHES} branches is a ConfigurationError naming the limit`, async () => {
    const error = await startService([parallel(MAX_PARALLEL_BRANCHES + 1)]).then(
      async (s) => {
        await s.close();
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(String((error as Error).message)).toContain(`at most ${MAX_PARALLEL_BRANCHES} branches`);
  });

  it(`${MAX_PARALLEL_BRANCHES} branches load and run`, async () => {
    const s = await startService([parallel(MAX_PARALLEL_BRANCHES)]);
    try {
      expect((await s.service.app.inject({ method: 'POST', url: '/flows/wide/execute', payload: { input: {} } })).statusCode).toBe(200);
    } finally {
      await s.close();
    }
  });
});
