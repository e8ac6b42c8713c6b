/**
 * Health and lifecycle in process: readiness follows `state` (not ready before flows are loaded and
 * listening, not ready while shutting down), executions are refused during shutdown, close()
 * closes adapters' connection pools, and every server timeout is set explicitly.
 */
import { z } from 'zod';
import { afterEach, describe, expect, it } from 'vitest';
import type { ComponentAdapter } from '../../src/adapters/types.js';
import { METRICS_TIMEOUTS } from '../../src/observability/metrics-app.js';
import { listen, sendJson, startService, startUpstream, waitFor, type TestService, type Upstream } from '../observability/support.js';

const FAST_FLOW = { name: 'fast', phases: [{ id: 'one', component: 'transform', request: '{% 1 %}' }] };

describe('health routes follow the lifecycle', () => {
  let service: TestService | undefined;
  afterEach(async () => {
    await service?.dispose();
    service = undefined;
  });

  it('/health/ready: 503 before ready, 200 when ready, 503 while shutting down; /health/live: 200 throughout', async () => {
    service = await startService([FAST_FLOW]);
    const get = (url: string) => service!.app.inject({ method: 'GET', url });

    // createService wires everything but readiness is the server's call, once it listens.
    expect(service.state.ready).toBe(false);
    const notReady = await get('/health/ready');
    expect(notReady.statusCode).toBe(503);
    expect(notReady.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(notReady.headers['retry-after']).toBeDefined();
    expect((await get('/health/live')).statusCode).toBe(200);

    service.state.ready = true;
    const ready = await get('/health/ready');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready', flows: 1 });

    service.state.shuttingDown = true;
    const draining = await get('/health/ready');
    expect(draining.statusCode).toBe(503);
    expect(draining.json()).toMatchObject({ code: 'FLOWD_ERR_SHUTTING_DOWN' });
    expect(draining.headers['retry-after']).toBeDefined();
    expect((await get('/health/live')).statusCode).toBe(200);
  });

  it('refuses new executions while shutting down: 503 problem+json FLOWD_ERR_SHUTTING_DOWN with Retry-After', async () => {
    service = await startService([FAST_FLOW]);
    service.state.ready = true;
    expect((await service.app.inject({ method: 'POST', url: '/flows/fast/execute', payload: { input: {} } })).statusCode).toBe(200);
    service.state.shuttingDown = true;
    const refused = await service.app.inject({ method: 'POST', url: '/flows/fast/execute', payload: { input: {} } });
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.headers['retry-after']).toBe('5');
    expect(refused.json()).toMatchObject({ status: 503, code: 'FLOWD_ERR_SHUTTING_DOWN' });
    expect(service.built.engine.activeExecutions).toBe(0);
  });
});

describe('service.close() releases adapters', () => {
  let service: TestService | undefined;
  let upstream: Upstream | undefined;
  afterEach(async () => {
    await service?.dispose();
    await upstream?.close();
    service = undefined;
    upstream = undefined;
  });

  it('closes the http keep-alive pool (the upstream sees its connection close) and calls close() on every component', async () => {
    upstream = await startUpstream((_request, response) => sendJson(response, 200, { ok: true }));
    let closed = 0;
    const closable: ComponentAdapter<Record<string, never>> = {
      kind: 'closable',
      configSchema: z.strictObject({}),
      create: () => ({
        execute: async () => 'done',
        close: async () => {
          closed += 1;
        },
      }),
    };
    service = await startService(
      [
        {
          name: 'pooled',
          components: { api: { adapter: 'http', base_url: upstream.url }, res: { adapter: 'closable' } },
          phases: [
            { id: 'call', component: 'api', request: { method: 'GET', path: '/x' } },
            { id: 'other', component: 'res' },
          ],
        },
      ],
      { EGRESS_ALLOW: '127.0.0.1' },
      { adapters: [closable as ComponentAdapter<never>] },
    );
    const response = await service.app.inject({ method: 'POST', url: '/flows/pooled/execute', payload: { input: {} } });
    expect(response.statusCode).toBe(200);
    expect(upstream.requests).toHaveLength(1);
    expect(upstream.openSockets.size).toBe(1); // kept alive in the pool

    await service.dispose();
    expect(closed).toBe(1);
    await waitFor(() => upstream!.openSockets.size === 0, 2_000, 'the pooled connection to close');
  });
});

describe('server timeouts are explicit', () => {
  let service: TestService | undefined;
  afterEach(async () => {
    await service?.dispose();
    service = undefined;
  });

  it('sets request, connection, keep-alive and headers timeouts on the API and the metrics listener', async () => {
    service = await startService([FAST_FLOW], { REQUEST_TIMEOUT_MS: '45000' });
    await listen(service.app);
    await listen(service.metricsApp);
    const api = service.app.server;
    expect(api.requestTimeout).toBe(45_000);
    expect(api.timeout).toBe(45_000); // connectionTimeout: socket inactivity
    expect(api.keepAliveTimeout).toBe(72_000);
    expect(api.headersTimeout).toBe(10_000);
    expect(api.maxConnections).toBe(1024);

    const metrics = service.metricsApp.server;
    expect(metrics.requestTimeout).toBe(METRICS_TIMEOUTS.requestMs);
    expect(metrics.timeout).toBe(METRICS_TIMEOUTS.connectionMs);
    expect(metrics.keepAliveTimeout).toBe(METRICS_TIMEOUTS.keepAliveMs);
    expect(metrics.headersTimeout).toBe(METRICS_TIMEOUTS.headersMs);
    for (const server of [api, metrics]) {
      expect(server.requestTimeout).toBeGreaterThan(0);
      expect(server.headersTimeout).toBeLessThanOrEqual(server.requestTimeout);
    }
  });

  it('never lets the headers timeout exceed a short REQUEST_TIMEOUT_MS', async () => {
    service = await startService([FAST_FLOW], { REQUEST_TIMEOUT_MS: '2000' });
    await listen(service.app);
    expect(service.app.server.requestTimeout).toBe(2_000);
    expect(service.app.server.headersTimeout).toBe(2_000);
  });
});
