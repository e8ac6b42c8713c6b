/**
 * The retry policy reads the sql adapter's classification on the real PostgreSQL: a serialization
 * failure (40001) and a deadlock (40P01) are retried up to the policy, a unique violation (23505)
 * is not. The server raises each SQLSTATE itself, so every attempt meets the same error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFlowDir } from '../../helpers/flow-dir.js';
import { startTestService, type TestService } from '../../helpers/service.js';

const PG_URL = process.env['FLOWD_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

const raise = (state: string): string => `DO $$ BEGIN RAISE EXCEPTION 'raised by the test' USING ERRCODE = '${state}'; END $$`;

/** One flow per raised SQLSTATE: a single phase running it under a 3-attempt policy. */
const flow = (which: string, state: string): string => `name: raise-${which}
components:
  db:
    adapter: sql
    url: "${PG_URL}"
    statements:
      ${which}: "${raise(state)}"
    retry_policy: { max_attempts: 3, initial_delay_ms: 1, max_delay_ms: 2, retry_on: [network, transient] }
phases:
  - id: ${which}
    component: db
    request: { statement: ${which} }
`;

describe('sql errors and the retry policy (real PostgreSQL)', () => {
  let service: TestService;
  let flows: ReturnType<typeof makeFlowDir>;
  beforeAll(async () => {
    flows = makeFlowDir({ 'a.yaml': flow('serialization', '40001'), 'b.yaml': flow('deadlock', '40P01'), 'c.yaml': flow('unique', '23505') });
    service = await startTestService({ FLOWS_DIR: flows.dir, EGRESS_ALLOW: '127.0.0.1' });
  });
  afterAll(async () => {
    await service?.close();
    flows?.cleanup();
  });

  interface RecordView {
    status: string;
    error?: Record<string, unknown>;
    phases: { id: string; attempts?: number }[];
  }
  /** The execution record: a failure's problem carries it as `execution`. */
  const run = async (which: string): Promise<RecordView> => {
    const body: RecordView & { execution?: RecordView } = (await service.app.inject({ method: 'POST', url: `/flows/raise-${which}/execute`, payload: { input: {} } })).json();
    return body.execution ?? body;
  };

  it.each([
    ['serialization', 'SQL_SERIALIZATION_FAILURE', 3],
    ['deadlock', 'SQL_DEADLOCK', 3],
    ['unique', 'SQL_UNIQUE_VIOLATION', 1],
  ])('%s: error.reason %s after %i attempt(s)', async (which, reason, attempts) => {
    const record = await run(which);
    expect(record.status).toBe('failed');
    expect(record.error).toMatchObject({ reason });
    expect(record.phases.find((phase) => phase.id === which)).toMatchObject({ attempts });
  });
});
