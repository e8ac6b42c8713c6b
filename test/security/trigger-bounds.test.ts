/**
 * Triggered flows are queued executions too: they pass the same queue bounds as API requests
 * (QUEUE_MAX_PER_TENANT for the tenant of the execution that triggers them, QUEUE_MAX for all),
 * on every store. A trigger the bounds refuse is not lost silently: the parent's record and
 * stored journal show it with the bound's code, a warning is logged and counted; the parent's
 * status stands. (An audit found one tenant's sync runs queueing without bound and locking the
 * others out.)
 */
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { decodeRows } from '../../src/durable/journal-codec.js';
import { recordView } from '../../src/engine/journal/record-view.js';
import type { ExecutionRecord } from '../../src/engine/record.js';
import type { ComponentAdapter } from '../../src/index.js';
import { buildEngine } from '../../src/library.js';
import type { Backend } from '../durable/helpers.js';
import { apiKeysEnv, echoFlow, json, makeKey, useStoreBackedService, type TestKey } from './helpers.js';

const FLOWS = [
  echoFlow('parent', { persistence: 'all', triggers: [{ flow: 'child-a' }, { flow: 'child-b' }] }),
  echoFlow('child-a'),
  echoFlow('child-b'),
];
const RUNS = 20;

describe.each<Backend>(['memory', 'sqlite', 'postgres'])('triggers within the queue bounds (%s)', (backend) => {
  const start = useStoreBackedService();
  const alice = makeKey('alice', ['flows:execute', 'executions:read']);
  const bob = makeKey('bob', ['flows:execute', 'executions:read']);

  it("one tenant's triggers stop at QUEUE_MAX_PER_TENANT, refusals are recorded and counted, another tenant is still admitted", async () => {
    const t = await start(backend, FLOWS, { API_KEYS: apiKeysEnv(alice, bob), QUEUE_MAX_PER_TENANT: '5', QUEUE_MAX: '8', WORKER_CONCURRENCY: '0', LOG_LEVEL: 'warn' });
    const service = t.service;
    const run = (key: TestKey, flow: string, i: number, prefer?: string) =>
      service.app.inject({ method: 'POST', url: `/flows/${flow}/execute`, payload: { input: { i } }, headers: { ...key.auth, ...(prefer === undefined ? {} : { prefer }) } });

    // Alice's parents, all at once: 40 triggers for 5 places.
    const answers = await Promise.all(Array.from({ length: RUNS }, (_, i) => run(alice, 'parent', i)));
    const records = answers.map((answer) => {
      expect(answer.statusCode).toBe(200);
      return json(answer) as unknown as ExecutionRecord;
    });
    expect(records.every((record) => record.status === 'succeeded')).toBe(true);
    const triggered = records.flatMap((record) => record.triggered ?? []);
    const refused = records.flatMap((record) => record.triggersRefused ?? []);
    expect(triggered).toHaveLength(5);
    expect(refused).toHaveLength(2 * RUNS - 5);
    for (const refusal of refused) {
      expect(['child-a', 'child-b']).toContain(refusal.flow);
      expect(refusal.error.code).toBe('FLOWD_ERR_QUEUE_FULL');
    }
    expect(await service.store.countQueued('alice')).toBe(5);
    expect(await service.store.countQueued()).toBe(5);

    // Visible afterwards: in the record served and in the stored journal.
    const parent = records.find((record) => (record.triggersRefused ?? []).length > 0)!;
    const served = json(await service.app.inject({ method: 'GET', url: `/executions/${parent.executionId}`, headers: alice.auth }));
    expect(served['status']).toBe('succeeded');
    expect(served['triggersRefused']).toEqual(parent.triggersRefused);
    const stored = await service.store.get(parent.executionId);
    expect(recordView(decodeRows(stored!.rows)).triggersRefused).toEqual(parent.triggersRefused);
    const warnings = t
      .logs()
      .split('\n')
      .filter((line) => line.includes('"triggered flow refused"'));
    expect(warnings).toHaveLength(2 * RUNS - 5);
    expect(JSON.parse(warnings[0]!)).toMatchObject({ level: 40, trigger: expect.any(String), err: { code: 'FLOWD_ERR_QUEUE_FULL' } });

    // Bob still gets the 3 places left in all; then QUEUE_MAX refuses his API requests and his triggers.
    const bobs = await Promise.all(Array.from({ length: 10 }, (_, i) => run(bob, 'child-a', i, 'respond-async')));
    expect(bobs.filter((answer) => answer.statusCode === 202)).toHaveLength(3);
    expect(bobs.filter((answer) => answer.statusCode === 503)).toHaveLength(7);
    const bobParent = json(await run(bob, 'parent', 0)) as unknown as ExecutionRecord;
    expect(bobParent.status).toBe('succeeded');
    expect(bobParent.triggered).toBeUndefined();
    expect(bobParent.triggersRefused?.map((refusal) => [refusal.flow, refusal.error.code])).toEqual([
      ['child-a', 'FLOWD_ERR_OVERLOADED'],
      ['child-b', 'FLOWD_ERR_OVERLOADED'],
    ]);
    expect(await service.store.countQueued()).toBe(8);

    const metric = await service.metrics.registry.getSingleMetricAsString('flowd_queue_refusals_total');
    expect(metric).toContain(`flowd_queue_refusals_total{source="trigger",bound="tenant"} ${2 * RUNS - 5}`);
    expect(metric).toContain('flowd_queue_refusals_total{source="trigger",bound="total"} 2');
    expect(metric).toContain('flowd_queue_refusals_total{source="api",bound="total"} 7');
  });
});

describe('triggers of the engine used as a library (no queue: run in the background)', () => {
  it('at most maxBackgroundTriggers run at once; one more is refused in its parent record, and room comes back as they end', async () => {
    let release = (): void => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const held: ComponentAdapter<Record<string, never>> = {
      kind: 'held',
      configSchema: z.object({}),
      create: () => ({ execute: async () => { await gate; return { released: true }; } }),
    };
    const { engine } = await buildEngine({
      adapters: [held as ComponentAdapter<never>],
      flows: [
        { name: 'parent', phases: [{ id: 'p', component: 'transform', request: '{% input %}' }], triggers: [{ flow: 'slow' }] },
        { name: 'slow', components: { h: { adapter: 'held' } }, phases: [{ id: 'h', component: 'h' }] },
      ],
      maxBackgroundTriggers: 3,
    });
    try {
      const parents = [];
      for (let i = 0; i < 5; i++) parents.push(await engine.execute('parent', { i }));
      expect(parents.map((record) => record.status)).toEqual(Array(5).fill('succeeded'));
      expect(parents.filter((record) => record.triggered?.length === 1)).toHaveLength(3);
      const refused = parents.slice(3).map((record) => record.triggersRefused);
      expect(refused).toEqual(Array(2).fill([{ flow: 'slow', error: expect.objectContaining({ code: 'FLOWD_ERR_OVERLOADED', message: expect.stringContaining('maxBackgroundTriggers') }) }]));
      release();
      // Each background run holds its place until it has ended: once they have, triggers start again.
      await vi.waitFor(() => expect(engine.activeExecutions).toBe(0));
      await new Promise((resolve) => setImmediate(resolve));
      expect((await engine.execute('parent', { i: 6 })).triggered).toHaveLength(1);
    } finally {
      release();
      await engine.close();
    }
  });
});
