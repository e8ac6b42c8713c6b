/**
 * Two replicas (server processes) on one store with one schedule: each occurrence fires exactly
 * once, also across `kill -9` of one of them midway — the survivor goes on, none is lost, none
 * doubled (issue 15). A 3-second cron keeps the window short; the scheduler ticks every second.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeRows } from '../../src/durable/journal-codec.js';
import type { ExecutionStartedEntry } from '../../src/engine/journal/entries.js';
import { ServerProcess, createTestDatabase, killAllServers, waitFor, workerEnv, writeFlows, type Backend, type TestDatabase } from '../durable/helpers.js';

const PERIOD_MS = 3000;
const TICKER = {
  name: 'replica-ticker',
  phases: [{ id: 'echo', component: 'transform', request: '{% {"at": $now()} %}' }],
  schedules: [{ name: 'every-3s', cron: '*/3 * * * * *', input: {} }],
};

const BACKENDS: Backend[] = ['sqlite', 'postgres'];

describe.each(BACKENDS)('a schedule on two replicas on %s', (backend) => {
  let db: TestDatabase;
  let flowsDir: string;

  beforeAll(async () => {
    db = await createTestDatabase(backend);
    flowsDir = await writeFlows([TICKER]);
  });

  afterAll(async () => {
    await killAllServers();
    await db?.drop();
    if (flowsDir !== undefined) await rm(flowsDir, { recursive: true, force: true });
  });

  it('fires each occurrence exactly once, none lost while one replica is killed', async () => {
    const store = await db.open();
    const occurrences = async (): Promise<number[]> => {
      const page = await store.list({ flow: 'replica-ticker', limit: 200 });
      const all: number[] = [];
      for (const item of page.items) {
        const stored = await store.get(item.executionId);
        const started = decodeRows(stored!.rows)[0] as ExecutionStartedEntry;
        all.push(Date.parse(started.trigger!.occurrence));
      }
      return all.sort((a, b) => a - b);
    };
    const env = { ...workerEnv(db, flowsDir, 4), SCHEDULES: 'on' };
    const a = await ServerProcess.start(env);
    const b = await ServerProcess.start(env);
    await waitFor('three occurrences with both replicas up', async () => (await occurrences()).length >= 3, 60_000, 200);
    await a.kill();
    const atKill = (await occurrences()).length;
    await waitFor('three more occurrences fired by the survivor', async () => (await occurrences()).length >= atKill + 3, 60_000, 200);
    await b.kill();

    const fired = await occurrences();
    // Exactly once: no occurrence has two executions.
    expect(new Set(fired).size).toBe(fired.length);
    // None lost: from the first to the last, every 3-second occurrence is there.
    const gaps = fired.slice(1).map((at, index) => at - fired[index]!);
    expect(gaps.every((gap) => gap === PERIOD_MS), `gaps between occurrences: ${gaps.join(', ')} ms`).toBe(true);
  }, 180_000);
});
