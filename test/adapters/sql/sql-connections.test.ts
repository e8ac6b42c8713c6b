/**
 * The sql adapter when connections go wrong, against the real PostgreSQL and MariaDB through a TCP
 * proxy: a connection reset or closed under a running statement fails the attempt as a retryable
 * SQL_CONNECTION (the process goes on serving: `pg` emits the loss on the checked-out client), and
 * a timeout holds with a full pool (the cancellation goes on a connection of its own).
 */
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFlowDir } from '../../helpers/flow-dir.js';
import { startTestService, type TestService } from '../../helpers/service.js';
import { startTcpProxy, type TcpProxy } from '../../helpers/tcp-proxy.js';

const PG_URL = process.env['FLOWD_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

interface Dialect {
  readonly name: string;
  readonly port: number;
  /** The component's url, its host and port replaced by `host:port`. */
  readonly url: (hostPort: string) => string;
  readonly sleepSql: string;
  /** Statements sleeping on the server now. */
  readonly running: () => Promise<number>;
  readonly close: () => Promise<void>;
}

function postgres(): Dialect {
  const pool = new pg.Pool({ connectionString: PG_URL, max: 1 });
  const url = new URL(PG_URL);
  return {
    name: 'postgres',
    port: Number(url.port || 5432),
    url: (hostPort) => `postgres://${url.username}@${hostPort}${url.pathname}`,
    sleepSql: 'SELECT pg_sleep(:s) AS slept',
    running: async () => (await pool.query("SELECT pid FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(%' AND state = 'active'")).rowCount ?? 0,
    close: () => pool.end(),
  };
}

function mariadb(): Dialect {
  const pool = mysql.createPool({ host: '127.0.0.1', user: 'root', database: 'test', connectionLimit: 1 });
  return {
    name: 'mariadb',
    port: 3306,
    url: (hostPort) => `mariadb://root@${hostPort}/test`,
    sleepSql: 'SELECT SLEEP(:s) AS slept',
    running: async () => ((await pool.query("SELECT id FROM information_schema.processlist WHERE info LIKE 'SELECT SLEEP(%'"))[0] as unknown[]).length,
    close: () => pool.end(),
  };
}

function flow(name: string, url: string, sleepSql: string, phase: string): string {
  return `name: ${name}
components:
  db:
    adapter: sql
    url: "${url}"
    pool: { max: 1 }
    statements:
      sleep: "${sleepSql}"
    retry_policy: { max_attempts: 3, initial_delay_ms: 1, max_delay_ms: 2, retry_on: [network, transient] }
phases:
  - id: nap
    component: db
${phase}`;
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`never saw: ${what}`);
}

for (const make of [postgres, mariadb]) {
  describe(`sql connections on ${make.name}`, () => {
    let db: Dialect;
    let proxy: TcpProxy;
    let service: TestService;
    let flows: ReturnType<typeof makeFlowDir>;
    const execute = async (name: string, input: unknown): Promise<Record<string, unknown>> => {
      const body = (await service.app.inject({ method: 'POST', url: `/flows/${name}/execute`, payload: { input } })).json<Record<string, unknown>>();
      return (body['execution'] as Record<string, unknown> | undefined) ?? body;
    };

    beforeAll(async () => {
      db = make();
      proxy = await startTcpProxy(db.port);
      const direct = db.url(`127.0.0.1:${db.port}`);
      flows = makeFlowDir({
        'cut.yaml': flow('cut', db.url(`127.0.0.1:${proxy.port}`), db.sleepSql, '    timeout_ms: 20000\n    request: { statement: sleep, params: { s: "{% input.s %}" } }\n'),
        'quick.yaml': flow('quick', direct, db.sleepSql, '    timeout_ms: 300\n    retry_policy: { max_attempts: 1 }\n    request: { statement: sleep, params: { s: 30 } }\n'),
      });
      service = await startTestService({ FLOWS_DIR: flows.dir, EGRESS_ALLOW: '127.0.0.1,localhost' });
    });

    afterAll(async () => {
      await service?.close();
      await proxy?.close();
      flows?.cleanup();
      await db?.close();
    });

    for (const how of ['reset', 'close'] as const) {
      it(`a connection ${how === 'reset' ? 'reset' : 'closed'} under a running statement is a retryable SQL_CONNECTION, and the service goes on`, async () => {
        const running = execute('cut', { s: 1 });
        await until('the statement running through the proxy', async () => proxy.open() > 0 && (await db.running()) > 0);
        proxy.cut(how);
        const record = await running;
        // The first attempt lost its connection; the second ran through the proxy again.
        expect(record).toMatchObject({ status: 'succeeded' });
        expect((record['phases'] as Record<string, unknown>[])[0]).toMatchObject({ id: 'nap', attempts: 2 });
        expect((await service.app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
      });
    }

    it('a timeout holds while the pool is full: the statement is cancelled on a connection of its own', async () => {
      // "quick" has a pool of one, taken by its own 30 s statement. Before: the cancellation waited for a
      // pooled connection, so the attempt lasted the whole 30 s and the statement was never cancelled.
      const record = await execute('quick', {});
      expect(record).toMatchObject({ status: 'failed', error: { code: 'FLOWD_ERR_PHASE_TIMEOUT' } });
      await until('the cancelled statement gone from the server', async () => (await db.running()) === 0);
    });
  });
}
