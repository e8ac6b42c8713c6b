import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ComponentAdapter } from '../../src/adapters/types.js';
import type { ExecutionRecord } from '../../src/engine/record.js';
import { ComponentError } from '../../src/errors.js';
import { startTestService, type TestService } from '../helpers/service.js';

/** Counts calls per component; components named in `down` answer 503; `undo` fails its compensations. */
const calls = new Map<string, number>();
const down = new Set<string>();
let undoFails = false;
const counting: ComponentAdapter<Record<string, never>> = {
  kind: 'counting',
  configSchema: z.strictObject({}),
  create: (_config, init) => ({
    async execute(request) {
      const isUndo = (request as { undo?: boolean } | undefined)?.undo === true;
      const key = `${init.flow}.${init.name}${isUndo ? ':undo' : ''}`;
      calls.set(key, (calls.get(key) ?? 0) + 1);
      if (isUndo && undoFails) throw new ComponentError('undo refused', { kind: 'status', upstreamStatus: 400 });
      if (!isUndo && down.has(init.name)) throw new ComponentError(`${init.name} is down`, { kind: 'status', upstreamStatus: 503 });
      return { component: init.name, call: calls.get(key) };
    },
  }),
};

const common = {
  defaults: { retry_policy: { max_attempts: 1 } },
  components: { lookup: { adapter: 'counting' }, reserve: { adapter: 'counting' }, charge: { adapter: 'counting' } },
};
const FLOWS = [
  {
    name: 'kept',
    persistence: 'failed',
    ...common,
    phases: [
      { id: 'find', component: 'lookup', request: { q: 1 } },
      { id: 'items', map: { items: '{% [1, 2] %}', phases: [{ id: 'hold', component: 'reserve', request: '{% {"item": item} %}' }] } },
      { id: 'pay', component: 'charge', request: { amount: 5 } },
    ],
  },
  {
    name: 'saga',
    persistence: 'all',
    transactional: true,
    ...common,
    phases: [
      { id: 'find', component: 'lookup', request: { q: 1 } },
      { id: 'hold', component: 'reserve', request: { item: 1 }, compensate: { request: { undo: true } } },
      { id: 'pay', component: 'charge', request: { amount: 5 } },
    ],
  },
  { name: 'unkept', persistence: 'none', ...common, phases: [{ id: 'pay', component: 'charge', request: { amount: 5 } }] },
];

describe('POST /executions/{id}/retry', () => {
  let service: TestService;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'flowd-retry-'));
    for (const flow of FLOWS) await writeFile(path.join(dir, `${flow.name}.json`), JSON.stringify(flow));
    service = await startTestService({ FLOWS_DIR: dir, LOG_LEVEL: 'silent' }, { adapters: [counting as ComponentAdapter<never>] });
  });
  afterAll(async () => {
    await service.close();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    calls.clear();
    down.clear();
    undoFails = false;
  });

  const execute = async (flow: string): Promise<ExecutionRecord> => {
    const response = await service.app.inject({ method: 'POST', url: `/flows/${flow}/execute`, payload: { input: {} } });
    const body = response.json<ExecutionRecord & { execution?: ExecutionRecord }>();
    return body.execution ?? body;
  };
  const retry = (id: string) => service.app.inject({ method: 'POST', url: `/executions/${id}/retry` });

  it('re-runs from the failed phase, restoring the outputs of the phases completed before it', async () => {
    down.add('charge');
    const failed = await execute('kept');
    expect(failed.status).toBe('failed');
    expect(failed.error?.phase).toBe('pay');

    down.clear();
    const response = await retry(failed.executionId);
    expect(response.statusCode).toBe(200);
    const record = response.json<ExecutionRecord>();
    expect(record).toMatchObject({ status: 'succeeded', retryOf: failed.executionId });
    expect(response.headers['location']).toBe(`/executions/${record.executionId}`);
    expect(record.phases.filter((p) => p.restored === true).map((p) => `${p.id}${p.index === undefined ? '' : `#${p.index}`}`).sort()).toEqual(['find', 'items']);
    expect(record.phases.find((p) => p.id === 'pay')).toMatchObject({ status: 'succeeded', attempts: 1 });
    // Completed phases ran once in all; only the failed one ran again.
    expect(calls.get('kept.lookup')).toBe(1);
    expect(calls.get('kept.reserve')).toBe(2);
    expect(calls.get('kept.charge')).toBe(2);
    // The new record is stored and linked.
    const stored = await service.app.inject({ method: 'GET', url: `/executions/${record.executionId}` });
    expect(stored.json()).toMatchObject({ retryOf: failed.executionId, status: 'succeeded' });
  });

  it('keeps the restored outputs when a retry is itself retried', async () => {
    down.add('charge');
    const failed = await execute('kept');
    const again = (await retry(failed.executionId)).json<{ execution: ExecutionRecord }>();
    expect(again.execution.status).toBe('failed');
    down.clear();
    const third = (await retry(again.execution.executionId)).json<ExecutionRecord>();
    expect(third.status).toBe('succeeded');
    expect(third.retryOf).toBe(again.execution.executionId);
    expect(calls.get('kept.lookup')).toBe(1);
    expect(calls.get('kept.charge')).toBe(3);
  });

  it('runs compensated phases again: their effect was undone', async () => {
    down.add('charge');
    const failed = await execute('saga');
    expect(failed.status).toBe('compensated');
    expect(calls.get('saga.reserve:undo')).toBe(1);

    down.clear();
    const record = (await retry(failed.executionId)).json<ExecutionRecord>();
    expect(record.status).toBe('succeeded');
    expect(record.phases.find((p) => p.id === 'find')?.restored).toBe(true);
    expect(record.phases.find((p) => p.id === 'hold')?.restored).toBeUndefined();
    expect(calls.get('saga.lookup')).toBe(1);
    expect(calls.get('saga.reserve')).toBe(2);
  });

  it('refuses executions that succeeded, are unknown, or left a compensation undone', async () => {
    const succeeded = await execute('kept');
    expect(succeeded.status).toBe('succeeded');
    const refused = await retry(succeeded.executionId);
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ code: 'FLOWD_ERR_EXECUTION_NOT_RETRYABLE' });

    const unknown = await retry('01234567-89ab-7def-8123-456789abcdef');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'FLOWD_ERR_EXECUTION_NOT_FOUND' });

    down.add('charge');
    undoFails = true;
    const stuck = await execute('saga');
    expect(stuck.status).toBe('compensation_failed');
    const refusedStuck = await retry(stuck.executionId);
    expect(refusedStuck.statusCode).toBe(409);
    expect(refusedStuck.json().detail).toContain('compensation_failed');
  });

  it('retries an execution this process kept in memory only (persistence none), from its journal', async () => {
    down.add('charge');
    const failed = await execute('unkept');
    expect(failed.status).toBe('failed');
    down.clear();
    const response = await retry(failed.executionId);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ status: 'succeeded', retryOf: failed.executionId });
    expect(calls.get('unkept.charge')).toBe(2);
  });

  it('reruns with the real input, kept apart from what is shown: sensitive fields are redacted in every answer', async () => {
    down.add('charge');
    const response = await service.app.inject({ method: 'POST', url: '/flows/kept/execute', payload: { input: { password: 'hunter2-secret' } } });
    const failed = response.json<{ execution: ExecutionRecord }>().execution;
    expect(failed.status).toBe('failed');
    expect(response.body).not.toContain('hunter2-secret');
    down.clear();
    const retried = await retry(failed.executionId);
    expect(retried.statusCode).toBe(200);
    expect(retried.json()).toMatchObject({ status: 'succeeded', input: { password: '[REDACTED]' } });
    expect(retried.body).not.toContain('hunter2-secret');
    const stored = await service.app.inject({ method: 'GET', url: `/executions/${failed.executionId}` });
    expect(stored.body).not.toContain('hunter2-secret');
  });
});
