/**
 * A parent that resumes after a crash starts its triggers again (and a replica tries an occurrence
 * another one started before crashing); they are keyed by parent, flow
 * and input, so the one started before the crash is found, not started twice. Found by a review:
 * when the queue had filled meanwhile, the bounds refused it first, and the parent's record said
 * `trigger_refused` for a triggered execution that existed and ran. On every store.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { executionLinks } from '../../src/durable/execution-links.js';
import { QueueAdmission } from '../../src/executions/queue-admission.js';
import { RecentExecutions } from '../../src/executions/recent.js';
import { buildEngine } from '../../src/library.js';
import { startScheduled } from '../../src/schedules/start-scheduled.js';
import type { Cleaner } from '../../src/observability/cleaner.js';
import { createTestDatabase, type Backend, type TestDatabase } from './helpers.js';

const clean: Cleaner = Object.assign((value: unknown) => value, { once: (value: object) => value });

let db: TestDatabase | undefined;
afterEach(async () => {
  await db?.drop();
  db = undefined;
});

describe.each<Backend>(['memory', 'sqlite', 'postgres'])('triggers started again by a resumed parent (%s)', (backend) => {
  it('find the execution started before, though the queue is full now; another trigger is still refused', async () => {
    db = await createTestDatabase(backend);
    const store = await db.open();
    const { engine } = await buildEngine({ flows: [{ name: 'child', phases: [{ id: 'c', component: 'transform', request: '{% input %}' }] }] });
    const links = executionLinks({
      engine: () => engine,
      store,
      admission: new QueueAdmission({ store, max: 100, maxPerTenant: 1 }),
      recent: new RecentExecutions(10),
      leaseMs: 30_000,
      idempotencyTtlMs: 3_600_000,
      clean,
      wake: () => undefined,
    });
    const parent = { executionId: engine.newExecutionId(), tenant: 'alice' };
    try {
      const first = await links.startTriggered('child', { order: 1 }, parent);
      expect(first).toEqual(expect.any(String));
      expect(await store.countQueued('alice')).toBe(1);

      // The resumed parent: same parent, flow and input, and the tenant's queue is full (its child is in it).
      expect(await links.startTriggered('child', { order: 1 }, parent)).toBe(first);
      expect(await store.countQueued('alice')).toBe(1);

      // A trigger that was never started is refused by the full queue as before.
      await expect(links.startTriggered('child', { order: 2 }, parent)).rejects.toMatchObject({ code: 'FLOWD_ERR_QUEUE_FULL' });
      await expect(links.startTriggered('child', { order: 1 }, { ...parent, executionId: engine.newExecutionId() })).rejects.toMatchObject({ code: 'FLOWD_ERR_QUEUE_FULL' });
    } finally {
      await engine.close();
    }
  });

  it('a schedule occurrence started before the queue filled is found, not refused tick after tick until missed', async () => {
    db = await createTestDatabase(backend);
    const store = await db.open();
    const { engine } = await buildEngine({
      flows: [{ name: 'nightly', schedules: [{ name: 'n', cron: '0 2 * * *' }], phases: [{ id: 'c', component: 'transform', request: '{% input %}' }] }],
    });
    const flow = engine.getFlow('nightly')!;
    const options = { engine, store, admission: new QueueAdmission({ store, max: 100, maxPerTenant: 1 }), leaseMs: 30_000, idempotencyTtlMs: 3_600_000, clean, wake: () => undefined };
    const occurrence = Date.UTC(2026, 11, 6, 2);
    try {
      const first = await startScheduled(options, flow, flow.schedules[0]!, occurrence);
      expect(first.created).toBe(true);
      // The replica that started it crashed before recording it; another one tries it while the queue is full.
      expect(await startScheduled(options, flow, flow.schedules[0]!, occurrence)).toEqual({ executionId: first.executionId, created: false });
      // The next occurrence was never started: refused by the full queue as before.
      await expect(startScheduled(options, flow, flow.schedules[0]!, occurrence + 86_400_000)).rejects.toMatchObject({ code: 'FLOWD_ERR_QUEUE_FULL' });
    } finally {
      await engine.close();
    }
  });
});
