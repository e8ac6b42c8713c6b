/**
 * (a) A server process is SIGKILLed while async executions are paused in a delay phase (and more
 * wait in the queue). After a restart on the same database every accepted execution ends, none
 * is lost, and the counting upstream shows that no completed phase ran twice.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountingUpstream, ServerProcess, TERMINAL, readStored, createTestDatabase, killAllServers, waitFor, workerEnv, writeFlows, type Backend, type Json, type TestDatabase } from './helpers.js';

const EXECUTIONS = 6;
const CONCURRENCY = 4;

function crashFlow(upstream: string): Record<string, unknown> {
  return {
    name: 'crash-flow',
    timeout_ms: 120_000,
    input: { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } },
    components: { upstream: { adapter: 'http', base_url: upstream } },
    phases: [
      { id: 'first', component: 'upstream', request: { method: 'POST', path: '/first', body: '{% input %}' }, output: '{% result.body %}' },
      { id: 'pause', component: 'delay', request: { ms: 4000 } },
      { id: 'second', component: 'upstream', request: { method: 'POST', path: '/second', body: '{% input %}' }, output: '{% result.body %}' },
    ],
    output: '{% {"n": input.n, "first": phases.first.key, "second": phases.second.key} %}',
  };
}

const BACKENDS: Backend[] = ['sqlite', 'postgres'];

describe.each(BACKENDS)('crash recovery on %s', (backend) => {
  let db: TestDatabase;
  let upstream: CountingUpstream;
  let flowsDir: string;

  beforeAll(async () => {
    db = await createTestDatabase(backend);
    upstream = await new CountingUpstream().start();
    flowsDir = await writeFlows([crashFlow(upstream.url)]);
  });

  afterAll(async () => {
    await killAllServers();
    await upstream?.close();
    await db?.drop();
    if (flowsDir !== undefined) await rm(flowsDir, { recursive: true, force: true });
  });

  it('(a) resumes every accepted execution after kill -9, without running a completed phase twice', async () => {
    const env = workerEnv(db, flowsDir, CONCURRENCY);
    const first = await ServerProcess.start(env);
    const ids: string[] = [];
    for (let n = 0; n < EXECUTIONS; n += 1) {
      const accepted = await first.request('POST', '/flows/crash-flow/execute', { input: { n } }, { prefer: 'respond-async' });
      expect(accepted.status).toBe(202);
      ids.push(accepted.body.executionId);
    }
    // The first CONCURRENCY executions are in their delay phase, their first phase checkpointed;
    // the others are still queued.
    const store = await db.open();
    await waitFor(
      'the running executions to checkpoint their first phase',
      async () => {
        let checkpointed = 0;
        for (const id of ids) if ((await readStored(store, id, true))?.checkpoints.has('first') === true) checkpointed += 1;
        return checkpointed === CONCURRENCY;
      },
      30_000,
    );
    expect(upstream.calls('/first')).toBe(CONCURRENCY);
    expect(upstream.calls('/second')).toBe(0);
    await first.kill();

    const statuses = await Promise.all(ids.map(async (id) => (await store.get(id))?.summary.status));
    expect(statuses.filter((status) => status === 'running')).toHaveLength(CONCURRENCY);
    expect(statuses.filter((status) => status === 'queued')).toHaveLength(EXECUTIONS - CONCURRENCY);

    const second = await ServerProcess.start(env);
    const records = await waitFor(
      'every accepted execution to end after the restart',
      async () => {
        const all = await Promise.all(ids.map(async (id): Promise<Json> => (await second.request('GET', `/executions/${id}`)).body));
        return all.every((record) => TERMINAL.has(record?.status)) ? all : undefined;
      },
      60_000,
      200,
    );
    for (const [n, record] of records.entries()) {
      expect(record).toMatchObject({ status: 'succeeded', output: { n, first: `${ids[n]}:first`, second: `${ids[n]}:second` } });
    }
    // The interrupted ones resumed from their checkpoint: phase `first` restored, not run again.
    const resumed = records.filter((record) => record.phases.some((phase: { id: string; restored?: boolean }) => phase.id === 'first' && phase.restored === true));
    expect(resumed).toHaveLength(CONCURRENCY);
    // No completed phase ran twice: each (execution, phase) reached the upstream exactly once.
    for (const id of ids) {
      expect(upstream.count(`${id}:first`)).toBe(1);
      expect(upstream.count(`${id}:second`)).toBe(1);
    }
    expect(upstream.calls('/first')).toBe(EXECUTIONS);
    expect(upstream.calls('/second')).toBe(EXECUTIONS);
    await second.kill();
  }, 180_000);
});
