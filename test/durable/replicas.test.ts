/**
 * (b) Two replica processes share one PostgreSQL. Both claim async work (SKIP LOCKED, batched);
 * one is SIGKILLed mid-run; the other takes its executions over once their leases expire and
 * finishes everything, without running a completed phase twice.
 */
import { rm } from 'node:fs/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountingUpstream, PG_URL, ServerProcess, TERMINAL, createTestDatabase, killAllServers, waitFor, workerEnv, writeFlows, type Json, type TestDatabase } from './helpers.js';

const PER_REPLICA = 3;
const EXECUTIONS = 2 * PER_REPLICA;

describe('two replicas on postgres', () => {
  let db: TestDatabase;
  let upstream: CountingUpstream;
  let flowsDir: string;
  let client: pg.Client;

  beforeAll(async () => {
    db = await createTestDatabase('postgres');
    upstream = await new CountingUpstream().start();
    flowsDir = await writeFlows([
      {
        name: 'replicated',
        timeout_ms: 120_000,
        components: { upstream: { adapter: 'http', base_url: upstream.url } },
        phases: [
          { id: 'first', component: 'upstream', request: { method: 'POST', path: '/first', body: '{% input %}' } },
          { id: 'pause', component: 'delay', request: { ms: 4000 } },
          { id: 'second', component: 'upstream', request: { method: 'POST', path: '/second', body: '{% input %}' } },
        ],
        output: '{% {"n": input.n} %}',
      },
    ]);
    client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
  });

  afterAll(async () => {
    await killAllServers();
    await client?.end();
    await upstream?.close();
    await db?.drop();
    if (flowsDir !== undefined) await rm(flowsDir, { recursive: true, force: true });
  });

  it('(b) the surviving replica finishes the work of the one that was killed', async () => {
    // Each replica can hold at most half the work, so both must take part.
    const env = workerEnv(db, flowsDir, PER_REPLICA);
    const [a, b] = await Promise.all([ServerProcess.start(env), ServerProcess.start(env)]);
    const ids: string[] = [];
    for (let n = 0; n < EXECUTIONS; n += 1) {
      const accepted = await (n % 2 === 0 ? a : b).request('POST', '/flows/replicated/execute', { input: { n } }, { prefer: 'respond-async' });
      expect(accepted.status).toBe(202);
      ids.push(accepted.body.executionId);
    }
    const schema = db.env['DATABASE_SCHEMA']!;
    const owners = await waitFor(
      'both replicas to hold leases on running executions past their first phase',
      async () => {
        const { rows } = await client.query<{ lease_owner: string; n: string }>(
          `SELECT e.lease_owner, count(*) AS n FROM "${schema}".flowd_executions e
           WHERE e.status = 'running' AND EXISTS (
             -- the first phase's end is in the journal (written ahead of the next phase's side effect; one table row may pack several entries)
             SELECT 1 FROM "${schema}".flowd_journal j WHERE j.execution_id = e.id AND j.data LIKE '%"type":"phase_ended"%"status":"succeeded"%')
           GROUP BY e.lease_owner`,
        );
        return rows.length === 2 && rows.every((row) => Number(row.n) === PER_REPLICA) ? rows.map((row) => row.lease_owner) : undefined;
      },
      30_000,
    );
    expect(new Set(owners).size).toBe(2);
    expect(upstream.calls('/second')).toBe(0);

    const { rows: heldBefore } = await client.query<{ id: string; lease_owner: string }>(`SELECT id, lease_owner FROM "${schema}".flowd_executions`);
    await a.kill();

    const records = await waitFor(
      'every execution to end on the surviving replica',
      async () => {
        const all = await Promise.all(ids.map(async (id): Promise<Json> => (await b.request('GET', `/executions/${id}`)).body));
        return all.every((record) => TERMINAL.has(record?.status)) ? all : undefined;
      },
      60_000,
      200,
    );
    for (const [n, record] of records.entries()) expect(record).toMatchObject({ status: 'succeeded', output: { n } });
    // Half of them were taken over (restored first phase, a second epoch).
    const { rows: after } = await client.query<{ id: string; lease_epoch: number; attempts: number }>(
      `SELECT id, lease_epoch, attempts FROM "${schema}".flowd_executions WHERE id = ANY($1::text[])`,
      [ids],
    );
    const takenOver = after.filter((row) => row.attempts === 2);
    expect(takenOver).toHaveLength(PER_REPLICA);
    const ownersBefore = new Map(heldBefore.map((row) => [row.id, row.lease_owner]));
    expect(new Set(takenOver.map((row) => ownersBefore.get(row.id))).size).toBe(1);
    for (const id of ids) {
      expect(upstream.count(`${id}:first`)).toBe(1);
      expect(upstream.count(`${id}:second`)).toBe(1);
    }
    await b.kill();
  }, 180_000);
});
