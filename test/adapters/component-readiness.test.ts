/**
 * `required: true` on a component: /health/ready answers 503 FLOWD_ERR_COMPONENT_UNAVAILABLE while
 * its readiness check fails (real Redis and PostgreSQL, and closed ports), 200 when it passes;
 * an adapter without a readiness check cannot be required.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../src/errors.js';
import { buildEngine } from '../../src/library.js';
import { makeFlowDir } from '../helpers/flow-dir.js';
import { startTestService, type TestService } from '../helpers/service.js';

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function flow(name: string, components: string): string {
  return `name: ${name}\ncomponents:\n${components}phases:\n  - id: p\n    component: kv\n    request: { command: get, key: x }\n`;
}

describe('required components and /health/ready', () => {
  let service: TestService | undefined;
  let flows: ReturnType<typeof makeFlowDir> | undefined;
  afterEach(async () => {
    await service?.close();
    flows?.cleanup();
    service = undefined;
    flows = undefined;
  });

  it('is ready when the required redis and sql components can connect', async () => {
    flows = makeFlowDir({
      'ok.yaml': flow('ok', `  kv:\n    adapter: redis\n    url: "redis://127.0.0.1:6379/0"\n    required: true\n  db:\n    adapter: sql\n    url: "postgres://postgres@127.0.0.1:5432/test"\n    required: true\n    statements: { one: "SELECT 1" }\n`),
    });
    service = await startTestService({ FLOWS_DIR: flows.dir, EGRESS_ALLOW: '127.0.0.1' });
    const answer = await service.app.inject({ method: 'GET', url: '/health/ready' });
    expect(answer.statusCode).toBe(200);
    expect(answer.json()).toMatchObject({ status: 'ready' });
    // The diagram (GET /flows/{name}, the console, flowd doc) shows the component's adapter kind.
    const diagram = await service.app.inject({ method: 'GET', url: '/flows/ok/diagram' });
    expect(diagram.body).toContain('p["p<br/><small>kv · redis</small>"]');
  });

  it('answers 503 FLOWD_ERR_COMPONENT_UNAVAILABLE naming the required components that cannot connect; optional ones do not count', async () => {
    const port = await closedPort();
    flows = makeFlowDir({
      'down.yaml': flow('down', `  kv:\n    adapter: redis\n    url: "redis://127.0.0.1:${port}/0"\n    required: true\n  db:\n    adapter: sql\n    url: "mysql://root@127.0.0.1:${port}/test"\n    required: true\n    statements: { one: "SELECT 1" }\n  spare:\n    adapter: redis\n    url: "redis://127.0.0.1:${port}/0"\n`),
    });
    service = await startTestService({ FLOWS_DIR: flows.dir, EGRESS_ALLOW: '127.0.0.1' });
    const answer = await service.app.inject({ method: 'GET', url: '/health/ready' });
    expect(answer.statusCode).toBe(503);
    expect(answer.headers['content-type']).toMatch(/application\/problem\+json/);
    const body = answer.json();
    expect(body).toMatchObject({ code: 'FLOWD_ERR_COMPONENT_UNAVAILABLE', status: 503 });
    expect(body.detail).toMatch(/required component\(s\) unavailable: /);
    expect(body.detail).toContain('down/kv');
    expect(body.detail).toContain('down/db');
    expect(body.detail).not.toContain('spare');
    // Liveness is not readiness: the process still answers.
    expect((await service.app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
  });

  it('refuses required: true on an adapter without a readiness check', async () => {
    const load = buildEngine({ flows: [{ name: 'f', components: { up: { adapter: 'http', base_url: 'https://example.com', required: true } }, phases: [{ id: 'p', component: 'up', request: { path: '/' } }] }] });
    await expect(load).rejects.toBeInstanceOf(ConfigurationError);
    await expect(load).rejects.toThrow(/components\.up\.required.*adapter "http" cannot tell whether its component is available/);
  });
});
