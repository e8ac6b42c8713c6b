import type { AddressInfo } from 'node:net';
import createClient from 'openapi-fetch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { components, paths } from '../../openapi/flowd-api.js';
import { startTestService, type TestService } from '../helpers/service.js';

type ExecutionRecord = components['schemas']['ExecutionRecord'];
type Problem = components['schemas']['Problem'];

/**
 * A client generated from the published OpenAPI document (openapi-typescript types + openapi-fetch),
 * used the way a team would use it, against the service on a real socket. `npm test` type-checks
 * this file, so a contract change that breaks such clients fails the build.
 */
describe('a typed client generated from openapi/openapi.json', () => {
  let service: TestService;
  let client: ReturnType<typeof createClient<paths>>;
  beforeAll(async () => {
    service = await startTestService({ LOG_LEVEL: 'silent', PERSISTENCE: 'failed' });
    await service.app.listen({ host: '127.0.0.1', port: 0 });
    client = createClient<paths>({ baseUrl: `http://127.0.0.1:${(service.app.server.address() as AddressInfo).port}` });
  });
  afterAll(() => service.close());

  it("executes a flow through its own typed operation and reads the execution back", async () => {
    const { data, error, response } = await client.POST('/flows/loyalty-points/execute', {
      body: { input: { customer_id: 'c-42', lines: 3 }, options: { timeoutMs: 2000 } },
    });
    expect(response.status).toBe(200);
    expect(error).toBeUndefined();
    const record: ExecutionRecord = data!;
    expect(record).toMatchObject({ flow: 'loyalty-points', status: 'succeeded', output: { points: 30 } });

    const read = await client.GET('/executions/{id}', { params: { path: { id: record.executionId } } });
    expect(read.data?.phases.map((phase) => phase.id)).toEqual(record.phases.map((phase) => phase.id));
  });

  it('lists flows and executes any flow by name through the generic operation', async () => {
    const flows = await client.GET('/flows');
    expect(flows.data?.flows.map((flow) => flow.name)).toContain('shipping-quote');
    const { data } = await client.POST('/flows/{name}/execute', {
      params: { path: { name: 'shipping-quote' } },
      body: { input: { weight_kg: 2.5, destination: 'DE' } },
    });
    expect(data?.status).toBe('succeeded');
  });

  it('gets problems as typed errors with their stable code and issues', async () => {
    const { data, error, response } = await client.POST('/flows/{name}/execute', {
      params: { path: { name: 'loyalty-points' } },
      body: { input: { customer_id: 'c-42', lines: 'three' } },
    });
    expect(data).toBeUndefined();
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    const problem: Problem = error!;
    expect(problem.code).toBe('FLOWD_ERR_INPUT_INVALID');
    expect(problem.issues?.map((issue) => issue.path)).toEqual(['input.lines']);

    const missing = await client.GET('/executions/{id}', { params: { path: { id: '00000000-0000-7000-8000-000000000000' } } });
    expect(missing.error?.code).toBe('FLOWD_ERR_EXECUTION_NOT_FOUND');
  });
});
