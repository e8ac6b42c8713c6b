/**
 * A schedule in a running service, end to end: the scheduler fires an occurrence, the durable
 * queue runs it like any async execution, and GET /executions/{id} shows its trigger.
 * A seconds cron keeps the wait short; polling is bounded, with no upper bound on timing asserted.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';

const FLOW = `
name: ticker
input:
  type: object
  required: [day]
  properties:
    day: { type: string }
phases:
  - { id: echo, component: transform, request: { day: "{% input.day %}" } }
output: "{% phases.echo.day %}"
schedules:
  - name: every-second
    cron: "* * * * * *"
    input: { day: yesterday }
`;

const dirs: string[] = [];
let service: TestService | undefined;
afterAll(async () => {
  await service?.close();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

interface Item {
  executionId: string;
  status: string;
}

it('an occurrence runs as an ordinary execution to its end, its record naming the schedule and the occurrence', { timeout: 90_000 }, async () => {
  const flows = await mkdtemp(join(tmpdir(), 'flowd-scheduled-flows-'));
  const data = await mkdtemp(join(tmpdir(), 'flowd-scheduled-data-'));
  dirs.push(flows, data);
  await writeFile(join(flows, 'ticker.yaml'), FLOW);
  service = await startTestService({ FLOWS_DIR: flows, STORE: 'sqlite', DATA_DIR: data });

  let done: Item | undefined;
  for (let attempt = 0; attempt < 600 && done === undefined; attempt += 1) {
    const list = await service.app.inject({ method: 'GET', url: '/executions?flow=ticker' });
    expect(list.statusCode).toBe(200);
    done = list.json<{ items: Item[] }>().items.find((item) => item.status !== 'queued' && item.status !== 'running');
    if (done === undefined) await sleep(100);
  }
  expect(done, 'a scheduled execution ended within 60 s').toBeDefined();

  const record = await service.app.inject({ method: 'GET', url: `/executions/${done!.executionId}` });
  expect(record.statusCode).toBe(200);
  const body = record.json<{ input: unknown; output: unknown; trigger: { kind: string; schedule: string; occurrence: string } }>();
  expect(body).toMatchObject({ status: 'succeeded', input: { day: 'yesterday' }, output: 'yesterday', trigger: { kind: 'schedule', schedule: 'every-second' } });
  // An occurrence is a whole second of the cron, in UTC ISO 8601.
  expect(body.trigger.occurrence).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000Z$/);

  // Every execution of this flow names a different occurrence: none ran twice.
  const all = (await service.app.inject({ method: 'GET', url: '/executions?flow=ticker&limit=100' })).json<{ items: Item[] }>().items;
  const occurrences = await Promise.all(
    all.map(async (item) => (await service!.app.inject({ method: 'GET', url: `/executions/${item.executionId}` })).json<{ trigger: { occurrence: string } }>().trigger.occurrence),
  );
  expect(new Set(occurrences).size).toBe(occurrences.length);
});
