/**
 * The sql adapter against the real PostgreSQL and MariaDB of the machine: declared statements with
 * bound parameters, rows and affected counts, a transaction per phase, errors classified for the
 * retry policy, compensation undoing an INSERT, the journal showing what was sent, load-time refusals.
 */
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFlowDir } from '../../helpers/flow-dir.js';
import { startTestService, type TestService } from '../../helpers/service.js';

const PG_URL = process.env['FLOWD_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const PASSWORD = `pw-${randomBytes(6).toString('hex')}`;
const table = `flowd_sql_${randomBytes(4).toString('hex')}`;

/** A flow file with one sql component (url given) and the phases given, as YAML. */
function flow(name: string, url: string, phases: string, extra = '', sleepSql = 'SELECT 1'): string {
  return `name: ${name}
components:
  db:
    adapter: sql
    url: "${url}"
    max_rows: 3
    statements:
      add: "INSERT INTO ${table} (id, total, note) VALUES (:id, :total, :note)"
      remove: "DELETE FROM ${table} WHERE id = :id"
      list: "SELECT id, total, note FROM ${table} WHERE total >= :min ORDER BY id"
      clash: "SELECT ':not_a_param' AS literal, :id AS id"
      sleep: "${sleepSql}"
    retry_policy: { max_attempts: 3, initial_delay_ms: 1, max_delay_ms: 2 }
  failing:
    adapter: mock
    responses: { default: { status: 500, body: "down" } }
    retry_policy: { max_attempts: 1 }
${extra}phases:
${phases}`;
}

const PHASES_ADD = `  - id: add
    component: db
    request: { statement: add, params: { id: "{% input.id %}", total: "{% input.total %}", note: "{% input.note %}" } }
    compensate: { request: { statement: remove, params: { id: "{% request.params.id %}" } } }
`;

interface PhaseView {
  id: string;
  attempts?: number;
  output?: { rows: Record<string, unknown>[] } & Record<string, unknown>;
  calls: { request?: unknown }[];
}
interface RecordView {
  executionId: string;
  status: string;
  output?: unknown;
  error?: Record<string, unknown>;
  phases: PhaseView[];
  compensations?: unknown[];
}

interface Dialect {
  readonly name: string;
  readonly url: string;
  readonly query: (sql: string, values?: unknown[]) => Promise<Record<string, unknown>[]>;
  readonly close: () => Promise<void>;
  readonly ddl: string;
  /** A statement that sleeps :s seconds, and how to see it still running on the server. */
  readonly sleepSql: string;
  readonly running: string;
}

async function postgres(): Promise<Dialect> {
  const pool = new pg.Pool({ connectionString: PG_URL, max: 2 });
  const url = new URL(PG_URL);
  url.password = '${secret:FLOWD_TEST_SQL_PASSWORD}';
  return {
    name: 'postgres',
    url: decodeURIComponent(url.href),
    query: async (sql, values) => (await pool.query(sql.replaceAll('?', () => '$1'), values)).rows as Record<string, unknown>[],
    close: () => pool.end(),
    ddl: `CREATE TABLE ${table} (id text PRIMARY KEY, total integer NOT NULL, note text)`,
    sleepSql: 'SELECT pg_sleep(:s) AS slept',
    running: "SELECT pid FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(%' AND state = 'active'",
  };
}

async function mariadb(): Promise<Dialect> {
  const pool = mysql.createPool({ host: '127.0.0.1', user: 'root', database: 'test', connectionLimit: 2 });
  return {
    name: 'mariadb',
    // root has an empty password here, so the password-masking test runs on PostgreSQL (trust accepts any).
    url: 'mariadb://root@127.0.0.1:3306/test',
    query: async (sql, values) => (await pool.query(sql, values))[0] as Record<string, unknown>[],
    close: () => pool.end(),
    ddl: `CREATE TABLE ${table} (id varchar(64) PRIMARY KEY, total integer NOT NULL, note text)`,
    sleepSql: 'SELECT SLEEP(:s) AS slept',
    running: "SELECT id FROM information_schema.processlist WHERE info LIKE 'SELECT SLEEP(%'",
  };
}

for (const make of [postgres, mariadb]) {
  describe(`sql adapter on ${make.name}`, () => {
    let db: Dialect;
    let service: TestService;
    let flows: ReturnType<typeof makeFlowDir>;
    /** The execution record: the answer of a success, or the one a failure's problem carries. */
    const execute = async (name: string, input: unknown): Promise<RecordView> => {
      const body: RecordView & { execution?: RecordView } = (await service.app.inject({ method: 'POST', url: `/flows/${name}/execute`, payload: { input } })).json();
      return body.execution ?? body;
    };

    beforeAll(async () => {
      db = await make();
      await db.query(db.ddl);
      flows = makeFlowDir({
        'add.yaml': flow('add', db.url, PHASES_ADD),
        'list.yaml': flow('list', db.url, `  - id: list\n    component: db\n    request: { statement: list, params: { min: "{% input.min %}" } }\n  - id: clash\n    component: db\n    request: { statement: clash, params: { id: "x" } }\n`),
        'saga.yaml': flow('saga', db.url, `${PHASES_ADD}  - id: notify\n    component: failing\n    request: { path: /notify }\n`, 'transactional: true\n'),
        'pair.yaml': flow(
          'pair',
          db.url,
          `  - id: pair\n    component: db\n    request:\n      transaction:\n        - { statement: add, params: { id: "{% input.id %}", total: 1, note: "first" } }\n        - { statement: add, params: { id: "{% input.second %}", total: 2, note: "second" } }\n`,
        ),
        'slow.yaml': flow('slow', db.url, `  - id: nap\n    component: db\n    timeout_ms: 300\n    retry_policy: { max_attempts: 1 }\n    request: { statement: sleep, params: { s: 30 } }\n`, '', db.sleepSql),
        'down.yaml': flow('down', db.url.replace(/@127\.0\.0\.1:\d+/, '@127.0.0.1:1'), PHASES_ADD),
      });
      service = await startTestService({ FLOWS_DIR: flows.dir, EGRESS_ALLOW: '127.0.0.1,localhost', FLOWD_TEST_SQL_PASSWORD: PASSWORD });
    });

    afterAll(async () => {
      await service?.close();
      flows?.cleanup();
      await db?.query(`DROP TABLE IF EXISTS ${table}`);
      await db?.close();
    });

    it('binds values, never splices them: a hostile string is stored as it was sent', async () => {
      const hostile = `x'); DROP TABLE ${table}; --`;
      const record = await execute('add', { id: 'a1', total: 5, note: hostile });
      expect(record['status']).toBe('succeeded');
      expect(record['output']).toEqual({ rows: [], rowCount: 1 });
      expect(await db.query(`SELECT note FROM ${table} WHERE id = 'a1'`)).toEqual([{ note: hostile }]);
    });

    it('returns rows, cut at max_rows and marked; a :name inside a string literal is not a parameter', async () => {
      for (const id of ['b1', 'b2', 'b3', 'b4']) await execute('add', { id, total: 10, note: null });
      const record = await execute('list', { min: 10 });
      expect(record['status']).toBe('succeeded');
      const phases = await service.app.inject({ method: 'GET', url: `/executions/${record['executionId']}` });
      const detail: RecordView = phases.json();
      const list = detail.phases.find((p) => p.id === 'list')!;
      expect(list.output?.rows.map((row) => row['id'])).toEqual(['b1', 'b2', 'b3']);
      expect(list.output).toMatchObject({ rowCount: 4, truncated: true });
      expect(detail.phases.find((p) => p.id === 'clash')!.output?.rows).toEqual([{ literal: ':not_a_param', id: 'x' }]);
      // The journal shows what was sent: the statement's name, its SQL and the bound values.
      expect(list.calls[0]!.request).toEqual({ statement: 'list', sql: `SELECT id, total, note FROM ${table} WHERE total >= :min ORDER BY id`, params: { min: 10 } });
    });

    it('runs a transaction per phase: a constraint violation rolls it back and is not retried', async () => {
      const record = await execute('pair', { id: 'c1', second: 'c1' });
      expect(record['status']).toBe('failed');
      expect(record['error']).toMatchObject({ reason: 'SQL_UNIQUE_VIOLATION' });
      expect(record['phases'][0]).toMatchObject({ id: 'pair', attempts: 1 });
      expect(await db.query(`SELECT id FROM ${table} WHERE id = 'c1'`)).toEqual([]);
      const ok = await execute('pair', { id: 'c2', second: 'c3' });
      expect(ok['output']).toEqual({ results: [{ rows: [], rowCount: 1 }, { rows: [], rowCount: 1 }] });
    });

    it('retries a connection failure (retryable) up to the policy, then fails with SQL_CONNECTION', async () => {
      const record = await execute('down', { id: 'd1', total: 1, note: null });
      expect(record['status']).toBe('failed');
      expect(record['error']).toMatchObject({ reason: 'SQL_CONNECTION' });
      expect(record['phases'][0]).toMatchObject({ id: 'add', attempts: 3 });
    });

    it('cancels the running statement on the server when the attempt times out', async () => {
      const record = await execute('slow', {});
      expect(record['status']).toBe('failed');
      expect(record['phases'][0]).toMatchObject({ id: 'nap', attempts: 1 });
      // The 30 s statement does not go on running on the server: it was cancelled, not abandoned.
      let still: unknown[] = ['?'];
      for (let i = 0; i < 50 && still.length > 0; i++) {
        still = await db.query(db.running);
        if (still.length > 0) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(still).toEqual([]);
    });

    it('compensates an INSERT with its DELETE when a later phase fails', async () => {
      const record = await execute('saga', { id: 'e1', total: 7, note: 'saga' });
      expect(record['status']).toBe('compensated');
      expect(record['compensations']).toMatchObject([{ phase: 'add', status: 'succeeded' }]);
      expect(await db.query(`SELECT id FROM ${table} WHERE id = 'e1'`)).toEqual([]);
    });

    it.runIf(make === postgres)('never shows the password: not in the record, the journal or the logs', async () => {
      const record = await execute('down', { id: 'f1', total: 1, note: null });
      const detail = await service.app.inject({ method: 'GET', url: `/executions/${record['executionId']}` });
      const logs = await service.app.inject({ method: 'GET', url: `/executions/${record['executionId']}/logs` });
      const flowDoc = await service.app.inject({ method: 'GET', url: '/flows/down' });
      for (const text of [JSON.stringify(record), detail.body, logs.body, flowDoc.body]) expect(text).not.toContain(PASSWORD);
      expect(flowDoc.json()).toMatchObject({ components: expect.anything() });
    });
  });
}
