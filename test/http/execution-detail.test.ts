/**
 * Issue 13, "every phase's request and response visible": opening an execution shows, for each
 * attempt of each http phase, the request as sent (method, URL, headers with secrets masked, body)
 * and the response or the upstream's error body; compensations likewise.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionRecord } from '../../src/engine/record.js';
import { failTimes, ok, startFaultUpstream, type FaultUpstream } from '../helpers/fault-upstream.js';
import { startTestService, type TestService } from '../helpers/service.js';

const TOKEN = 'tok-execution-detail-5521';

describe('GET /executions/{id}: each phase with its calls', () => {
  let upstream: FaultUpstream;
  let service: TestService;
  let dir: string;

  beforeAll(async () => {
    upstream = await startFaultUpstream();
    dir = await mkdtemp(path.join(tmpdir(), 'flowd-detail-'));
    const flow = {
      name: 'order',
      transactional: true,
      components: { shop: { adapter: 'http', base_url: upstream.url, headers: { authorization: 'Bearer ${secret:SHOP_TOKEN}', 'x-shop': '${secret:SHOP_TOKEN}' } } },
      defaults: { retry_policy: { initial_delay_ms: 1, max_delay_ms: 1 } },
      phases: [
        {
          id: 'reserve',
          component: 'shop',
          request: { method: 'POST', path: '/reservations', body: { sku: '{% input.sku %}' } },
          compensate: { request: { method: 'DELETE', path: "{% '/reservations/' & output.body.id %}" } },
        },
        { id: 'charge', component: 'shop', request: { method: 'POST', path: '/charges', query: { order: '{% input.sku %}' } } },
      ],
    };
    await writeFile(path.join(dir, 'order.json'), JSON.stringify(flow));
    service = await startTestService({ FLOWS_DIR: dir, EGRESS_ALLOW: '127.0.0.1', SHOP_TOKEN: TOKEN }, { env: { SHOP_TOKEN: TOKEN } });
  });
  afterAll(async () => {
    await service.close();
    await upstream.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('shows requests as sent and responses, retries and the upstream error body, secrets masked', async () => {
    upstream.script('POST /reservations', ok({ id: 'r-9' }, 201));
    upstream.script('POST /charges', failTimes(2, { status: 503, body: { reason: 'busy' } }), { status: 402, body: { reason: 'card declined', echo: TOKEN } });
    upstream.script('DELETE /reservations/r-9', ok({ released: true }));
    const answer = await service.app.inject({ method: 'POST', url: '/flows/order/execute', payload: { input: { sku: 'A-1' } } });
    const id = (answer.json<{ execution: ExecutionRecord }>()).execution.executionId;

    const response = await service.app.inject({ method: 'GET', url: `/executions/${id}` });
    expect(response.statusCode).toBe(200);
    expect(response.body).not.toContain(TOKEN);
    const record = response.json<ExecutionRecord>();
    const reserve = record.phases.find((phase) => phase.id === 'reserve')!;
    expect(reserve.calls?.[0]).toMatchObject({
      attempt: 1,
      request: {
        method: 'POST',
        url: `${upstream.url}/reservations`,
        headers: { authorization: '[REDACTED]', 'x-shop': '[REDACTED]', 'idempotency-key': `${id}:reserve` },
        body: { sku: 'A-1' },
      },
      response: { status: 201, body: { id: 'r-9' } },
    });
    expect(reserve.output).toMatchObject({ status: 201, body: { id: 'r-9' } });
    const charge = record.phases.find((phase) => phase.id === 'charge')!;
    expect(charge.calls?.map((call) => [call.attempt, call.error?.status, call.retryInMs === undefined ? 'final' : 'retried'])).toEqual([
      [1, 503, 'retried'],
      [2, 503, 'retried'],
      [3, 402, 'final'],
    ]);
    expect(charge.calls?.[0]?.request).toMatchObject({ url: `${upstream.url}/charges?order=A-1` });
    expect(charge.calls?.[2]?.detail).toMatchObject({ reason: 'card declined', echo: '[REDACTED]' });
    expect(record.compensations?.[0]).toMatchObject({ phase: 'reserve', status: 'succeeded' });
    expect(record.compensations?.[0]?.calls?.[0]).toMatchObject({ request: { method: 'DELETE', url: `${upstream.url}/reservations/r-9` }, response: { status: 200 } });
  });
});
