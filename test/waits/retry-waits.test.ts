/**
 * Retrying an execution of a flow that waits: the retry runs durably like a fresh execution of
 * that flow would (found by a review: it ran in memory and failed at the wait with
 * FLOWD_ERR_WAIT_NOT_DURABLE), answers 202 while it waits, and goes on when signalled.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
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

/** Fails on the first run; on a later one, takes the lease of every running execution away (another replica's claim). */
let thiefRuns = 0;
let dataDir = '';
const thief: ComponentAdapter<Record<string, never>> = {
  kind: 'thief',
  configSchema: z.strictObject({}),
  create: () => ({
    async execute() {
      thiefRuns += 1;
      if (thiefRuns === 1) throw new ComponentError('not yet', { kind: 'status', upstreamStatus: 503 });
      const db = new Database(path.join(dataDir, 'flowd.db'));
      db.prepare(`UPDATE flowd_executions SET lease_epoch = lease_epoch + 1 WHERE status = 'running'`).run();
      db.close();
      return { took: true };
    },
  }),
};

const STOLEN = {
  name: 'stolen-then-wait',
  defaults: { retry_policy: { max_attempts: 1 } },
  components: { thief: { adapter: 'thief' } },
  phases: [
    { id: 'steal', component: 'thief', request: {} },
    { id: 'after', component: 'thief', request: {} },
    { id: 'approval', wait: { signal: 'approve', timeout: '1h' } },
  ],
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
    dataDir = dir;
    for (const flow of [FLOW, STOLEN]) await writeFile(path.join(dir, `${flow.name}.json`), JSON.stringify(flow));
    service = await startTestService(
      { FLOWS_DIR: dir, LOG_LEVEL: 'silent', STORE: 'sqlite', DATA_DIR: dir, WORKER_POLL_MS: '20', WAIT_INLINE_MS: '0' },
      { adapters: [payments as ComponentAdapter<never>, thief as ComponentAdapter<never>] },
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

  it('answers 202 running when the retry loses its lease to another replica (it goes on there), not a 500', async () => {
    const first = await service.app.inject({ method: 'POST', url: `/flows/${STOLEN.name}/execute`, payload: { input: {} } });
    const failed = first.json<{ execution?: ExecutionRecord } & ExecutionRecord>();
    const failedId = failed.execution?.executionId ?? failed.executionId;
    expect(failed.execution?.status ?? failed.status).toBe('failed');

    const retried = await service.app.inject({ method: 'POST', url: `/executions/${failedId}/retry` });
    expect(retried.statusCode).toBe(202);
    const accepted = retried.json<{ executionId: string; status: string }>();
    expect(accepted).toEqual({ executionId: expect.any(String), status: 'running' });
    expect(retried.headers['location']).toBe(`/executions/${accepted.executionId}`);
    // Stored before its first effect, under the lease it lost: another replica takes it from there.
    const stored = (await service.app.inject({ method: 'GET', url: `/executions/${accepted.executionId}` })).json<ExecutionRecord>();
    expect(stored).toMatchObject({ status: 'running', retryOf: failedId });
  });
});
