/**
 * A signal sent early for a later wait is kept — and must not wake the execution while it waits
 * for another one. (Found by a review: any pending signal woke the execution at every suspension,
 * so it was claimed, replayed and suspended again every poll, its journal growing each time.)
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { createService, type Service } from '../../src/service.js';
import { createTestDatabase, waitFor, writeFlows, type Backend, type TestDatabase } from '../durable/helpers.js';

const GATE = {
  name: 'gate',
  phases: [
    { id: 'open', wait: { signal: 'open', timeout: '1h' } },
    { id: 'item', wait: { signal: 'item', timeout: '1h' } },
    { id: 'done', component: 'transform', request: '{% {"item": phases.item} %}' },
  ],
  output: '{% phases.done %}',
};

describe.each<Backend>(['sqlite', 'postgres'])('an early signal for a later wait, on %s', (backend) => {
  let db: TestDatabase;
  let flowsDir: string;
  let service: Service;

  beforeAll(async () => {
    db = await createTestDatabase(backend);
    flowsDir = await writeFlows([GATE]);
    const env = { ...db.env, FLOWS_DIR: flowsDir, LOG_LEVEL: 'error', RATE_LIMIT_PER_MINUTE: '0', WORKER_POLL_MS: '20', WAIT_INLINE_MS: '0' };
    service = await createService(loadConfig(env), { env });
    service.state.ready = true;
  });

  afterAll(async () => {
    await service?.close();
    await db?.drop();
    await rm(flowsDir, { recursive: true, force: true });
  });

  async function call(method: 'GET' | 'POST', url: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await service.app.inject({ method, url, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) }) });
    return { status: response.statusCode, body: response.body === '' ? {} : (JSON.parse(response.body) as Record<string, unknown>) };
  }

  it('is kept without waking the execution, and taken by that wait once the first signal came', async () => {
    const started = await call('POST', '/flows/gate/execute', { input: {} });
    const id = started.body['executionId'] as string;
    const store = await db.open();
    await waitFor('waiting', async () => (await store.get(id))?.summary.status === 'waiting');
    // The worker's polls are counted where it makes them, so "many polls later" does not depend on the machine's speed.
    const worker = service.store;
    const claim = worker.claim.bind(worker);
    let polls = 0;
    let claimedIt = 0;
    worker.claim = async (request) => {
      polls += 1;
      const claimed = await claim(request);
      claimedIt += claimed.filter((execution) => execution.summary.executionId === id).length;
      return claimed;
    };
    const pollsLater = async (count: number): Promise<void> => {
      const target = polls + count;
      await waitFor(`${count} worker polls`, () => polls >= target, 20_000, 5);
    };
    expect((await call('POST', `/executions/${id}/signals/item`, { payload: { sku: 'a-1' } })).status).toBe(202);
    // Many worker polls later, the execution has not been claimed or run again: same journal, still waiting, not due.
    await pollsLater(10);
    const before = (await store.get(id))!;
    await pollsLater(10);
    const after = (await store.get(id))!;
    expect(claimedIt).toBe(0);
    expect(after.rows.length).toBe(before.rows.length);
    expect(after.summary).toMatchObject({ status: 'waiting', waitingFor: 'signal' });
    expect(after.summary.wakeAt).toBeGreaterThan(Date.now() + 30 * 60_000);
    expect((await call('POST', `/executions/${id}/signals/open`, { payload: true })).status).toBe(202);
    const done = await waitFor('succeeded', async () => {
      const record = await call('GET', `/executions/${id}`);
      return record.body['status'] === 'succeeded' ? record.body : undefined;
    });
    expect(done['output']).toEqual({ item: { sku: 'a-1' } });
    // The count above sees this execution's claims: the signal it waited for got it claimed and resumed.
    expect(claimedIt).toBeGreaterThan(0);
  });
});
