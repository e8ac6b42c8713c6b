import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  loadFlows,
  mockComponent,
  mockComponentFailure,
  mockComponentLatency,
  type FlowTestKit,
} from '../../src/testing/index.js';

/** A flow calling an http component twice (a cached lookup, then a write) and a transform. */
const ORDERS = {
  name: 'orders',
  version: 1,
  input: { type: 'object', required: ['id'], properties: { id: { type: 'string' } } },
  examples: { basic: { id: 'o-1' } },
  defaults: { timeout_ms: 200, retry_policy: { max_attempts: 3, initial_delay_ms: 10 } },
  components: {
    api: { adapter: 'http', base_url: 'https://orders.example', headers: { authorization: 'Bearer ${secret:ORDERS_TOKEN}' } },
  },
  phases: [
    { id: 'lookup', component: 'api', request: { method: 'GET', path: "{% '/orders/' & input.id %}" }, output: '{% result.body %}', cache: { ttl_ms: 60000, key: '{% input.id %}' } },
    { id: 'save', component: 'api', request: { method: 'POST', path: '/saved', body: '{% phases.lookup %}' }, output: '{% result.status %}' },
    { id: 'label', component: 'transform', request: "{% 'order ' & input.id & ' saved with ' & $string(phases.save) %}" },
  ],
};

/** A parent whose sub-flow calls a mock component. */
const PARENT = {
  name: 'parent',
  phases: [{ id: 'child_run', flow: 'child', input: '{% {} %}' }],
};
const CHILD = {
  name: 'child',
  components: { echo: { adapter: 'mock', responses: { default: { body: 'real' } } } },
  phases: [{ id: 'echo_call', component: 'echo', request: { method: 'GET', path: '/' }, output: '{% result.body %}' }],
};

describe('test kit', () => {
  let kit: FlowTestKit;
  beforeAll(async () => {
    kit = await loadFlows({ flows: [ORDERS, PARENT, CHILD], random: () => 0 });
  });
  afterAll(() => kit.close());
  afterEach(() => kit.reset());

  describe('loading', () => {
    it('loads definitions given in code, with placeholder secrets', () => {
      expect([...kit.flows.keys()].sort()).toEqual(['child', 'orders', 'parent']);
    });

    it('reports every problem of invalid flows with file and path', async () => {
      await expect(loadFlows({ flows: [{ name: 'broken', phases: [{ id: 'x', component: 'nope' }] }] })).rejects.toMatchObject({
        code: 'FLOWD_ERR_CONFIG_INVALID',
        issues: [expect.objectContaining({ path: 'phases[0].component', message: expect.stringContaining('unknown component "nope"') })],
      });
    });

    it('gives an example by name, and says which exist when the name is wrong', () => {
      expect(kit.example('orders', 'basic')).toEqual({ id: 'o-1' });
      expect(() => kit.example('orders', 'nope')).toThrow('examples: basic');
    });
  });

  describe('unmocked components', () => {
    it('never lets an http component reach the network: the call fails at once, without retries', async () => {
      const result = await kit.runExample('orders', 'basic');

      expect(result.success).toBe(false);
      expect(result.error).toMatchObject({ code: 'FLOWD_ERR_EGRESS_DENIED', phase: 'lookup' });
      expect(result.error?.message).toContain('mockComponent("api"');
      expect(result.phase('lookup').attempts).toBe(1);
      expect(result.calls('api')).toMatchObject([{ phase: 'lookup', mocked: false, errorCode: 'FLOWD_ERR_EGRESS_DENIED' }]);
    });

    it('runs other components for real (a mock component, a transform)', async () => {
      const result = await kit.run('parent', {});
      expect(result.success).toBe(true);
      expect(result.output).toBe('real');
      expect(result.execution('child')?.status).toBe('succeeded');
      expect(result.calls('echo')).toMatchObject([{ flow: 'child', mocked: false }]);
    });
  });

  describe('mocks', () => {
    it('answers with a canned response, a function of the request, and a raw result', async () => {
      const result = await kit.runExample('orders', 'basic', {
        mocks: [
          mockComponent('api', { body: { id: 'o-1', total: 12 } }, { phase: 'lookup' }),
          mockComponent('api', (request) => ({ status: 201, body: request })),
          mockComponent('transform', { result: 'replaced' }),
        ],
      });

      expect(result.success).toBe(true);
      expect(result.output).toBe('replaced');
      expect(result.calls('api')).toMatchObject([
        { phase: 'lookup', mocked: true },
        { phase: 'save', mocked: true, request: { method: 'POST', path: '/saved', body: { id: 'o-1', total: 12 } } },
      ]);
    });

    it('answers a sequence, one response per call, through the phase retry policy', async () => {
      const result = await kit.runExample('orders', 'basic', {
        mocks: [mockComponent('api', { sequence: [{ status: 503 }, { status: 502 }, { body: { id: 'o-1' } }] }, { phase: 'lookup' }), mockComponent('api', { status: 201 })],
      });

      expect(result.success).toBe(true);
      expect(result.phase('lookup').attempts).toBe(3);
      expect(result.calls('api').filter((call) => call.phase === 'lookup').map((call) => call.errorCode)).toEqual([
        'FLOWD_ERR_COMPONENT_FAILED',
        'FLOWD_ERR_COMPONENT_FAILED',
        undefined,
      ]);
    });

    it('fails a given number of calls, then lets calls through to what is underneath', async () => {
      const result = await kit.runExample('orders', 'basic', {
        mocks: [mockComponentFailure('api', { status: 500, times: 1 }), mockComponent('api', { status: 201, body: {} })],
      });

      expect(result.success).toBe(true);
      expect(result.phase('lookup').attempts).toBe(2);
      expect(result.phase('save').attempts).toBe(1);
    });

    it('does not retry a 4xx failure', async () => {
      const result = await kit.runExample('orders', 'basic', { mocks: [mockComponentFailure('api', { status: 404 })] });

      expect(result.success).toBe(false);
      expect(result.error).toMatchObject({ code: 'FLOWD_ERR_COMPONENT_FAILED', status: 404, attempts: 1 });
    });

    it('simulates network errors and hangs (each attempt then times out)', async () => {
      const network = await kit.runExample('orders', 'basic', { mocks: [mockComponentFailure('api', { error: 'network' })] });
      expect(network.error).toMatchObject({ code: 'FLOWD_ERR_COMPONENT_FAILED', attempts: 3 });

      const hang = await kit.runExample('orders', 'basic', { mocks: [mockComponentFailure('api', { error: 'timeout' })] });
      expect(hang.error).toMatchObject({ code: 'FLOWD_ERR_PHASE_TIMEOUT', phase: 'lookup', attempts: 3 });
      expect(hang.executionTime).toBeGreaterThanOrEqual(3 * 200 - 20);
    });

    it('adds latency, which counts towards the attempt timeout and the execution time', async () => {
      const slow = await kit.runExample('orders', 'basic', {
        mocks: [mockComponentLatency('api', 60, { phase: 'save' }), mockComponent('api', { status: 201, body: {} })],
      });
      expect(slow.success).toBe(true);
      expect(slow.phase('save').durationMs).toBeGreaterThanOrEqual(55);
      expect(slow.executionTime).toBeGreaterThanOrEqual(55);

      const tooSlow = await kit.runExample('orders', 'basic', {
        mocks: [mockComponentLatency('api', 500, { phase: 'save', times: 1 }), mockComponent('api', { status: 201, body: {} })],
      });
      expect(tooSlow.success).toBe(true);
      expect(tooSlow.phase('save').attempts).toBe(2);
    });

    it('keeps the mocks of concurrent runs apart', async () => {
      const [failing, passing] = await Promise.all([
        kit.runExample('orders', 'basic', { mocks: [mockComponentFailure('api', { status: 400 })] }),
        kit.runExample('orders', 'basic', { mocks: [mockComponent('api', { status: 201, body: {} })] }),
      ]);
      expect(failing.status).toBe('failed');
      expect(passing.status).toBe('succeeded');
      expect(failing.calls()).toHaveLength(1);
      expect(passing.calls().map((call) => call.component)).toEqual(['api', 'api', 'transform']);
    });

    it('applies a run’s mocks to its sub-flows, and can target one flow', async () => {
      const mocked = await kit.run('parent', {}, { mocks: [mockComponent('echo', { body: 'mocked' }, { flow: 'child' })] });
      expect(mocked.output).toBe('mocked');

      const otherFlow = await kit.run('parent', {}, { mocks: [mockComponent('echo', { body: 'mocked' }, { flow: 'orders' })] });
      expect(otherFlow.output).toBe('real');
    });

    it('keeps kit-wide mocks for every run until reset', async () => {
      kit.mock(mockComponent('api', { status: 201, body: { id: 'o-1' } }));
      expect((await kit.runExample('orders', 'basic')).success).toBe(true);
      expect((await kit.runExample('orders', 'basic')).success).toBe(true);
      kit.reset();
      expect((await kit.runExample('orders', 'basic')).error?.code).toBe('FLOWD_ERR_EGRESS_DENIED');
    });
  });

  describe('caching', () => {
    it('starts every run with an empty phase cache, so runs do not depend on each other', async () => {
      const mocks = [mockComponent('api', { status: 200, body: { id: 'o-1' } })];
      const first = await kit.runExample('orders', 'basic', { mocks });
      const second = await kit.runExample('orders', 'basic', { mocks });
      expect(first.phase('lookup').cached).toBe(false);
      expect(second.phase('lookup').cached).toBe(false);
    });

    it('shares the cache between runs when asked to', async () => {
      const shared = await loadFlows({ flows: [ORDERS], sharedCache: true, mocks: [mockComponent('api', { status: 200, body: { id: 'o-1' } })] });
      try {
        await shared.runExample('orders', 'basic');
        const second = await shared.runExample('orders', 'basic');
        expect(second.phase('lookup').cached).toBe(true);
        expect(second.calls('api').map((call) => call.phase)).toEqual(['save']);
      } finally {
        await shared.close();
      }
    });
  });

  describe('results', () => {
    it('names the phases that ran when asked for one that did not', async () => {
      const result = await kit.runExample('orders', 'basic');
      expect(() => result.phase('save')).toThrow('phases that ran: lookup');
      expect(String(result)).toContain('orders failed');
    });
  });
});

describe('test kit with a real upstream (allowNetwork)', () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    server = createServer((request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ id: request.url, auth: request.headers.authorization }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('calls an unmocked http component when the network is allowed, with the secrets given', async () => {
    const local = { ...ORDERS, components: { api: { ...ORDERS.components.api, base_url: `http://127.0.0.1:${port}` } } };
    const kit = await loadFlows({ flows: [local], allowNetwork: true, egressAllow: ['127.0.0.1'], secrets: { ORDERS_TOKEN: 'tok-123' } });
    try {
      const result = await kit.runExample('orders', 'basic');
      expect(result.success).toBe(true);
      expect(result.calls('api').every((call) => !call.mocked)).toBe(true);
      expect(result.output).toBe('order o-1 saved with 200');
      expect(result.record.phases.map((phase) => phase.id)).toEqual(['lookup', 'save', 'label']);
    } finally {
      await kit.close();
    }
  });
});
