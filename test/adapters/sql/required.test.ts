/** `required: true`: /health/ready answers 503 FLOWD_ERR_COMPONENT_UNAVAILABLE while such a component cannot connect. */
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../../src/errors.js';
import { buildEngine } from '../../../src/library.js';
import { makeFlowDir } from '../../helpers/flow-dir.js';
import { startTestService, type TestService } from '../../helpers/service.js';

const PG_URL = process.env['FLOWD_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

const flowWith = (url: string, required: boolean): string =>
  `name: uses-db\ncomponents:\n  db:\n    adapter: sql\n    required: ${required}\n    url: "${url}"\n    pool: { connect_timeout_ms: 500 }\n    statements: { one: "SELECT 1 AS one" }\nphases:\n  - id: q\n    component: db\n    request: { statement: one }\n`;

describe('required components and /health/ready', () => {
  const services: TestService[] = [];
  const dirs: { cleanup: () => void }[] = [];
  afterAll(async () => {
    for (const service of services) await service.close();
    for (const dir of dirs) dir.cleanup();
  });
  const start = async (url: string, required: boolean): Promise<TestService> => {
    const flows = makeFlowDir({ 'uses-db.yaml': flowWith(url, required) });
    dirs.push(flows);
    const service = await startTestService({ FLOWS_DIR: flows.dir, EGRESS_ALLOW: '127.0.0.1,localhost' });
    services.push(service);
    return service;
  };

  it('is ready when the required database answers', async () => {
    const service = await start(PG_URL, true);
    const ready = await service.app.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ status: 'ready' });
  });

  it('is not ready, with a coded problem naming the component, while the required database is down', async () => {
    const service = await start('postgres://postgres@127.0.0.1:1/test', true);
    const ready = await service.app.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode).toBe(503);
    expect(ready.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(ready.json()).toMatchObject({ code: 'FLOWD_ERR_COMPONENT_UNAVAILABLE', detail: expect.stringMatching(/uses-db\/db: /) });
    // Liveness is not readiness: the process is fine.
    expect((await service.app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
  });

  it('ignores a component that is down but not required', async () => {
    const service = await start('postgres://postgres@127.0.0.1:1/test', false);
    expect((await service.app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200);
  });

  it('refuses required on an adapter that cannot tell whether it is available', async () => {
    const load = buildEngine({
      flows: [{ name: 'f', components: { api: { adapter: 'http', base_url: 'https://api.example', required: true } }, phases: [{ id: 'p', component: 'api', request: {} }] }],
    });
    await expect(load).rejects.toThrow(ConfigurationError);
    await expect(load).rejects.toThrow(/components\.api\.required.*cannot be required/);
  });
});
