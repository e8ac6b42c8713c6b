/**
 * Retrying an execution of a flow that waits: the retry runs durably like a fresh execution of
 * that flow would (found by a review: it ran in memory and failed at the wait with
 * FLOWD_ERR_WAIT_NOT_DURABLE), answers 202 while it waits, and goes on when signalled.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ComponentAdapter } from '../../src/adapters/types.js';
import type { ExecutionRecord } from '../../src/engine/record.js';
import { ComponentError } from '../../src/errors.js';
import { waitFor } from '../durable/helpers.js';
import { startTestService, type TestService } from '../helpers/service.js';

let chargeDown = true;
let charges = 0;
const payments: ComponentAdapter<Record<string, never>> = {
  kind: 'payments',
  configSchema: z.strictObject({}),
  create: () => ({
    async execute() {
      charges += 1;
      if (chargeDown) throw new ComponentError('payments are down', { kind: 'status', upstreamStatus: 503 });
      return { charge: `ch-${charges}` };
    },
  }),
};

const FLOW = {
  name: 'charge-then-approve',
  defaults: { retry_policy: { max_attempts: 1 } },
  components: { payments: { adapter: 'payments' } },
  phases: [
    { id: 'prepare', component: 'transform', request: '{% {"amount": input.amount} %}' },
    { id: 'charge', component: 'payments', request: '{% phases.prepare %}' },
    { id: 'approval', wait: { signal: 'approve', timeout: '1h' } },
    { id: 'done', component: 'transform', request: '{% {"charge": phases.charge.charge, "approvedBy": phases.approval.by} %}' },
  ],
  output: '{% phases.done %}',
};

describe('POST /executions/{id}/retry of a flow that waits', () => {
  let service: TestService;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'flowd-retry-waits-'));
    await writeFile(path.join(dir, `${FLOW.name}.json`), JSON.stringify(FLOW));
    service = await startTestService(
      { FLOWS_DIR: dir, LOG_LEVEL: 'silent', STORE: 'sqlite', DATA_DIR: dir, WORKER_POLL_MS: '20', WAIT_INLINE_MS: '0' },
      { adapters: [payments as ComponentAdapter<never>] },
    );
  });
  afterAll(async () => {
    await service?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('runs durably: answers 202 waiting, keeps the restored phase, and finishes when signalled', async () => {
    const first = await service.app.inject({ method: 'POST', url: `/flows/${FLOW.name}/execute`, payload: { input: { amount: 5 } } });
    const failed = first.json<{ execution?: ExecutionRecord } & ExecutionRecord>();
    const failedId = failed.execution?.executionId ?? failed.executionId;
    expect(failed.execution?.status ?? failed.status).toBe('failed');

    chargeDown = false;
    const retried = await service.app.inject({ method: 'POST', url: `/executions/${failedId}/retry` });
    expect(retried.statusCode).toBe(202);
    const accepted = retried.json<{ executionId: string; status: string; waiting?: { for: string; signal?: string } }>();
    expect(accepted).toMatchObject({ status: 'waiting', waiting: { signal: 'approve' } });
    expect(retried.headers['location']).toBe(`/executions/${accepted.executionId}`);

    const waiting = (await service.app.inject({ method: 'GET', url: `/executions/${accepted.executionId}` })).json<ExecutionRecord>();
    expect(waiting).toMatchObject({ status: 'waiting', retryOf: failedId });
    expect(waiting.phases.find((phase) => phase.id === 'prepare')?.restored).toBe(true);

    const signal = await service.app.inject({ method: 'POST', url: `/executions/${accepted.executionId}/signals/approve`, payload: { payload: { by: 'ann' } } });
    expect(signal.statusCode).toBe(202);
    const done = await waitFor('the retry to succeed', async () => {
      const record = (await service.app.inject({ method: 'GET', url: `/executions/${accepted.executionId}` })).json<ExecutionRecord>();
      return record.status === 'succeeded' ? record : undefined;
    });
    expect(done.output).toEqual({ charge: 'ch-2', approvedBy: 'ann' });
    expect(charges).toBe(2);
  });
});
