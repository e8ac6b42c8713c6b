import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';

let service: TestService;
beforeAll(async () => {
  service = await startTestService({ BODY_LIMIT_BYTES: '2048' });
});
afterAll(async () => service.close());

const execute = (name: string, body: unknown, headers: Record<string, string> = {}) =>
  service.app.inject({ method: 'POST', url: `/flows/${name}/execute`, headers: { 'content-type': 'application/json', ...headers }, payload: JSON.stringify(body) });

function expectProblem(response: { statusCode: number; headers: Record<string, unknown>; json: () => unknown }, status: number, code: string) {
  expect(response.statusCode).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = response.json() as Record<string, unknown>;
  expect(body).toMatchObject({ status, code, type: expect.stringMatching(/^https:\/\//), title: expect.any(String), detail: expect.any(String) });
  expect(JSON.stringify(body)).not.toMatch(/node_modules|\/work\/|at .*\.js:\d+/);
  return body;
}

describe('POST /flows/{name}/execute', () => {
  it('answers 200 with the execution record', async () => {
    const response = await execute('order-fulfillment', { input: { order_id: 'o-9', customer_id: 'c-1', items: [{ sku: 'A', qty: 1 }] } });
    expect(response.statusCode).toBe(200);
    const record = response.json();
    expect(record).toMatchObject({ flow: 'order-fulfillment', version: '3', status: 'succeeded', executionId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(record.output).toMatchObject({ order_id: 'o-9', reservations: ['res-A'], tracking: 'TRK-o-9' });
    expect(typeof record.durationMs).toBe('number');
    expect(record.phases[0]).toMatchObject({ id: 'customer', status: 'succeeded', attempts: 1, startedAt: expect.any(String), durationMs: expect.any(Number) });
  });

  it('answers with only the output when asked with Prefer: return=minimal', async () => {
    const response = await execute('loyalty-points', { input: { customer_id: 'c-1', lines: 2 } }, { prefer: 'return=minimal' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['preference-applied']).toBe('return=minimal');
    expect(response.json()).toEqual({ customer_id: 'c-1', points: 20 });
  });

  it('400 for input that fails the flow schema, listing each issue with its path', async () => {
    const response = await execute('order-fulfillment', { input: { order_id: 'o', items: [{ sku: 'A', qty: 0 }] } });
    const body = expectProblem(response, 400, 'FLOWD_ERR_INPUT_INVALID');
    expect(body['issues']).toEqual(expect.arrayContaining([{ path: 'input.customer_id', message: 'is required' }, { path: 'input.items[0].qty', message: 'must be at least 1' }]));
  });

  it('400 for malformed JSON', async () => {
    const response = await service.app.inject({ method: 'POST', url: '/flows/loyalty-points/execute', headers: { 'content-type': 'application/json' }, payload: '{"input": ' });
    expectProblem(response, 400, 'FLOWD_ERR_REQUEST_INVALID');
  });

  it('400 for an empty body', async () => {
    const response = await service.app.inject({ method: 'POST', url: '/flows/loyalty-points/execute', headers: { 'content-type': 'application/json' }, payload: '' });
    expectProblem(response, 400, 'FLOWD_ERR_REQUEST_INVALID');
  });

  it('400 for an envelope with unknown keys or bad options, naming them', async () => {
    const response = await execute('loyalty-points', { input: { customer_id: 'c', lines: 1 }, options: { timeoutMs: -1 }, extra: true });
    const body = expectProblem(response, 400, 'FLOWD_ERR_REQUEST_INVALID');
    expect(JSON.stringify(body['issues'])).toMatch(/timeoutMs/);
  });

  it('404 for an unknown flow', async () => {
    expectProblem(await execute('no-such-flow', { input: {} }), 404, 'FLOWD_ERR_FLOW_NOT_FOUND');
    const typo = expectProblem(await execute('loyalty-pionts', { input: {} }), 404, 'FLOWD_ERR_FLOW_NOT_FOUND');
    expect(typo['detail']).toBe('no flow named "loyalty-pionts" is loaded (did you mean "loyalty-points"?); GET /flows lists them');
    const doc = expectProblem(await service.app.inject({ method: 'GET', url: '/flows/loyalty-pionts/doc' }), 404, 'FLOWD_ERR_FLOW_NOT_FOUND');
    expect(doc['detail']).toContain('(did you mean "loyalty-points"?)');
  });

  it('400 for a flow name that is not a name', async () => {
    expectProblem(await execute('UPPER', { input: {} }), 400, 'FLOWD_ERR_REQUEST_INVALID');
  });

  it('415 for a body that is not JSON', async () => {
    const response = await service.app.inject({ method: 'POST', url: '/flows/loyalty-points/execute', headers: { 'content-type': 'text/plain' }, payload: 'input=1' });
    expectProblem(response, 415, 'FLOWD_ERR_UNSUPPORTED_MEDIA_TYPE');
  });

  it('413 for a body over the limit', async () => {
    const response = await execute('loyalty-points', { input: { customer_id: 'x'.repeat(5000), lines: 1 } });
    expectProblem(response, 413, 'FLOWD_ERR_PAYLOAD_TOO_LARGE');
  });

  it('400 for a prototype-poisoning body', async () => {
    const response = await service.app.inject({
      method: 'POST',
      url: '/flows/loyalty-points/execute',
      headers: { 'content-type': 'application/json' },
      payload: '{"input": {"customer_id": "c", "lines": 1, "__proto__": {"polluted": true}}}',
    });
    expectProblem(response, 400, 'FLOWD_ERR_REQUEST_INVALID');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe('other routes', () => {
  it('404 problem for an unknown route', async () => {
    expectProblem(await service.app.inject({ method: 'GET', url: '/nowhere' }), 404, 'FLOWD_ERR_NOT_FOUND');
  });

  it('GET /flows lists name, current version, description and loaded versions of each flow', async () => {
    const body = (await service.app.inject({ method: 'GET', url: '/flows' })).json();
    const names = body.flows.map((flow: { name: string }) => flow.name);
    expect(names).toEqual(expect.arrayContaining(['order-fulfillment', 'loyalty-points', 'order-recovery', 'user-onboarding', 'shipping-quote']));
    expect(body.flows[0]).toEqual({ name: expect.any(String), version: expect.any(String), description: expect.any(String), versions: [body.flows[0].version] });
  });

  it('GET /flows/{name} gives the definition, input schema, examples and a Mermaid diagram', async () => {
    const response = await service.app.inject({ method: 'GET', url: '/flows/order-fulfillment' });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.inputSchema.required).toEqual(['order_id', 'customer_id', 'items']);
    expect(Object.keys(body.examples)).toEqual(['two-lines', 'gold-customer']);
    expect(body.diagram).toMatch(/^graph TD/);
    expect(body.diagram).toContain('p_charge_route{');
    expect(body.definition.phases).toHaveLength(5);
  });

  it('GET /flows/{name}/diagram answers Mermaid text', async () => {
    const response = await service.app.inject({ method: 'GET', url: '/flows/user-onboarding/diagram' });
    expect(response.headers['content-type']).toMatch(/^text\/vnd\.mermaid/);
    expect(response.body).toMatch(/p_setup_fork/);
  });

  it('health endpoints answer', async () => {
    expect((await service.app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
    expect((await service.app.inject({ method: 'GET', url: '/health/ready' })).json()).toMatchObject({ status: 'ready' });
  });

  it('readiness is 503 problem+json while shutting down', async () => {
    service.state.shuttingDown = true;
    try {
      expectProblem(await service.app.inject({ method: 'GET', url: '/health/ready' }), 503, 'FLOWD_ERR_SHUTTING_DOWN');
      expectProblem(await execute('loyalty-points', { input: { customer_id: 'c', lines: 1 } }), 503, 'FLOWD_ERR_SHUTTING_DOWN');
    } finally {
      service.state.shuttingDown = false;
    }
  });

  it('serves Swagger UI and an OpenAPI 3.1 document with one execute operation per flow', async () => {
    expect((await service.app.inject({ method: 'GET', url: '/docs/' })).statusCode).toBe(200);
    const doc = (await service.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(doc.openapi).toBe('3.1.0');
    const operation = doc.paths['/flows/order-fulfillment/execute'].post;
    expect(operation.requestBody.content['application/json'].schema.properties.input.required).toEqual(['order_id', 'customer_id', 'items']);
    expect(Object.keys(operation.requestBody.content['application/json'].examples)).toEqual(['two-lines', 'gold-customer']);
  });
});
