/** Versioned migrations: applied once, idempotent, and 0.1.0 databases upgraded to the journal. */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeRows } from '../../src/durable/journal-codec.js';
import { recordView } from '../../src/engine/journal/record-view.js';
import type { ExecutionStore } from '../../src/store/execution-store.js';
import { LATEST_VERSION, MIGRATIONS } from '../../src/store/migrations/index.js';
import { migratePostgres, migrateSqlite } from '../../src/store/migrations/runner.js';
import { PostgresExecutionStore } from '../../src/store/postgres-store.js';
import { SqliteExecutionStore } from '../../src/store/sqlite-store.js';
import { PostgresScheduleStore } from '../../src/store/schedules/postgres-schedules.js';
import type { ScheduleStore } from '../../src/store/schedules/schedule-store.js';
import { SqliteScheduleStore } from '../../src/store/schedules/sqlite-schedules.js';
import { PG_URL, dropSchema } from '../durable/helpers.js';
import { bulkInsertSql, COMPENSATED_RECORD, ENDED_RECORD, IDS, fillPostgres, fillSqlite } from './legacy-0001.js';
import { newExecution, running, savedExecution, typesOf } from './store-fixtures.js';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'flowd-migrate-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function tempSchema(): string {
  const schema = `flowd_test_${randomBytes(5).toString('hex')}`;
  cleanups.push(() => dropSchema(schema));
  return schema;
}

async function pgClient(schema: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: PG_URL, options: `-c search_path=${schema}` });
  await client.connect();
  cleanups.push(() => client.end());
  return client;
}

describe('migrations', () => {
  it('knows its versions in strictly increasing order (branches may add versions out of order; the runner applies the missing ones)', () => {
    const versions = MIGRATIONS.map((migration) => migration.version);
    expect(versions).toEqual([...new Set(versions)].sort((a, b) => a - b));
    expect(versions[0]).toBe(1);
    expect(LATEST_VERSION).toBe(versions.at(-1));
  });

  it('sqlite: a second run, and a reopen of the same file, change nothing', async () => {
    const path = join(await tempDir(), 'flowd.db');
    const first = SqliteExecutionStore.open({ path });
    const schema = (): unknown[] => first.db.prepare(`SELECT type, name, sql FROM sqlite_master ORDER BY type, name`).all();
    const before = schema();
    expect(first.appliedMigrations()).toEqual(MIGRATIONS.map((migration) => migration.version));
    const saved = savedExecution();
    await first.save(saved);
    expect(first.migrate()).toBe(0);
    expect(schema()).toEqual(before);
    const second = SqliteExecutionStore.open({ path });
    expect(second.appliedMigrations()).toEqual(MIGRATIONS.map((migration) => migration.version));
    expect((await second.get(saved.executionId))?.summary.status).toBe('succeeded');
    expect(schema()).toEqual(before);
    expect(first.db.pragma('journal_mode', { simple: true })).toBe('wal');
    await second.close();
    await first.close();
  });

  it('refuses a database a newer flowd migrated, and changes nothing in it (sqlite and postgres)', async () => {
    const db = new Database(join(await tempDir(), 'newer.db'));
    migrateSqlite(db);
    db.prepare(`INSERT INTO flowd_migrations (version, name, applied_at) VALUES (?, 'from-the-future', 0)`).run(LATEST_VERSION + 1);
    expect(() => migrateSqlite(db)).toThrow(`schema is at version ${LATEST_VERSION + 1}, newer than this flowd knows (${LATEST_VERSION})`);
    db.close();

    const schemaName = tempSchema();
    const client = await pgClient(schemaName);
    await migratePostgres(client, schemaName);
    await client.query(`INSERT INTO flowd_migrations (version, name, applied_at) VALUES ($1, 'from-the-future', 0)`, [LATEST_VERSION + 1]);
    await expect(migratePostgres(client, schemaName)).rejects.toThrow(`newer than this flowd knows (${LATEST_VERSION})`);
    const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM flowd_migrations`);
    expect(Number(rows[0]!.n)).toBe(LATEST_VERSION + 1);
  });

  it('postgres: replicas starting together apply each migration once; a second run is a no-op', async () => {
    const schemaName = tempSchema();
    // Two "replicas" start at the same moment on an empty schema: the advisory lock serialises them.
    const [a, b] = await Promise.all([
      PostgresExecutionStore.open({ connectionString: PG_URL, schema: schemaName }),
      PostgresExecutionStore.open({ connectionString: PG_URL, schema: schemaName }),
    ]);
    cleanups.push(async () => {
      await a.close();
      await b.close();
    });
    const client = await pgClient(schemaName);
    const snapshot = async (): Promise<unknown[]> =>
      (
        await client.query<Record<string, unknown>>(
          `SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = $1
           UNION ALL SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = $1
           ORDER BY 1, 2`,
          [schemaName],
        )
      ).rows;
    const before = await snapshot();
    expect(before.length).toBeGreaterThan(10);
    expect(await a.appliedMigrations()).toEqual(MIGRATIONS.map((migration) => migration.version));
    const saved = savedExecution();
    await a.save(saved);
    expect(await a.migrate()).toBe(0);
    expect(await b.migrate()).toBe(0);
    const again = await PostgresExecutionStore.open({ connectionString: PG_URL, schema: schemaName });
    expect(await again.appliedMigrations()).toEqual(MIGRATIONS.map((migration) => migration.version));
    expect((await again.get(saved.executionId))?.summary.status).toBe('succeeded');
    await again.close();
    expect(await snapshot()).toEqual(before);
  });
});

/** Version 4 (schedules) applied by a build without version 3, as a branch merged before waits would have. */
const SCHEDULES = MIGRATIONS.find((migration) => migration.version === 4)!;

describe('a database that has versions 1, 2 and 4 (schedules before waits)', () => {
  async function usable(store: ExecutionStore): Promise<void> {
    const lease = await running(store);
    await store.suspend(lease, [], { wakeAt: (await store.now()) + 60_000, waitingFor: 'signal', signal: 's' });
    expect(await store.signals.deliver({ executionId: lease.executionId, name: 's', payload: '1' })).toMatchObject({ kind: 'delivered', status: 'waiting' });
    expect((await store.get(lease.executionId))?.summary).toMatchObject({ status: 'waiting', waitingFor: 'signal' });
  }

  it('sqlite: gets version 3 (and the newer ones) added on open', async () => {
    const path = join(await tempDir(), 'flowd.db');
    const db = new Database(path);
    migrateSqlite(db, 2);
    for (const step of SCHEDULES.sqlite) if (typeof step === 'string') db.exec(step);
    db.prepare(`INSERT INTO flowd_migrations (version, name, applied_at) VALUES (4, ?, 0)`).run(SCHEDULES.name);
    db.close();
    const store = SqliteExecutionStore.open({ path });
    expect(store.appliedMigrations()).toEqual([1, 2, 3, 4, 5, 6]);
    await usable(store);
    await store.close();
  });

  it('postgres: gets version 3 (and the newer ones) added on open', async () => {
    const schemaName = tempSchema();
    const client = await pgClient(schemaName);
    await migratePostgres(client, schemaName, 2);
    for (const step of SCHEDULES.postgres) if (typeof step === 'string') await client.query(step);
    await client.query(`INSERT INTO flowd_migrations (version, name, applied_at) VALUES (4, $1, 0)`, [SCHEDULES.name]);
    const store = await PostgresExecutionStore.open({ connectionString: PG_URL, schema: schemaName });
    cleanups.push(() => store.close());
    expect(await store.appliedMigrations()).toEqual([1, 2, 3, 4, 5, 6]);
    await usable(store);
  });
});

describe('a database at version 5 with a schedule row (keyed by flow and schedule)', () => {
  const ROW = `INSERT INTO flowd_schedules (flow, schedule, spec, next_due, last_fired) VALUES ('report', 'nightly', '0 2 * * *|UTC', 1800000000000, 1799913600000)`;
  /** What a replica of version 5 inserts: its ON CONFLICT names the old key. */
  const OLD_ENSURE = `INSERT INTO flowd_schedules (flow, schedule, spec, next_due) VALUES ('report', 'nightly', 'x|UTC', 1) ON CONFLICT (flow, schedule) DO NOTHING`;

  async function keepsTheRow(store: ScheduleStore): Promise<void> {
    const kept = { flow: 'report', schedule: 'nightly', spec: '0 2 * * *|UTC', nextDue: 1_800_000_000_000, lastFired: 1_799_913_600_000 };
    expect(await store.list()).toEqual([kept]);
    // Another definition of the schedule now has a row of its own; the kept one still moves.
    expect(await store.ensure({ flow: 'report', schedule: 'nightly', spec: '0 3 * * *|UTC', nextDue: 5 })).toMatchObject({ nextDue: 5 });
    expect(await store.advance({ flow: 'report', schedule: 'nightly', spec: kept.spec, expectedDue: kept.nextDue, nextDue: kept.nextDue + 86_400_000, fired: kept.nextDue })).toBe(true);
    expect((await store.list()).map((row) => [row.spec, row.nextDue])).toEqual([
      [kept.spec, kept.nextDue + 86_400_000],
      ['0 3 * * *|UTC', 5],
    ]);
  }

  it('sqlite: migrates to version 6 and keeps the row', async () => {
    const path = join(await tempDir(), 'flowd.db');
    const db = new Database(path);
    migrateSqlite(db, 5);
    db.exec(ROW);
    db.close();
    const store = SqliteExecutionStore.open({ path });
    cleanups.push(() => store.close());
    expect(store.appliedMigrations()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(() => store.db.exec(OLD_ENSURE)).toThrow(/ON CONFLICT clause does not match/);
    await keepsTheRow(new SqliteScheduleStore(store.db));
  });

  it('postgres: migrates to version 6 and keeps the row', async () => {
    const schemaName = tempSchema();
    const client = await pgClient(schemaName);
    await migratePostgres(client, schemaName, 5);
    await client.query(ROW);
    const store = await PostgresExecutionStore.open({ connectionString: PG_URL, schema: schemaName });
    cleanups.push(() => store.close());
    expect(await store.appliedMigrations()).toEqual([1, 2, 3, 4, 5, 6]);
    await expect(client.query(OLD_ENSURE)).rejects.toThrow(/no unique or exclusion constraint matching the ON CONFLICT/);
    const schedules = new PostgresScheduleStore(new pg.Pool({ connectionString: PG_URL, max: 1, options: `-c search_path=${schemaName}` }), true);
    cleanups.push(() => schedules.close());
    await keepsTheRow(schedules);
  });
});

describe.each(['sqlite', 'postgres'] as const)('%s: upgrading a flowd 0.1.0 database', (backend) => {
  /** A 0.1.0 database with its executions, then opened by this build (which migrates it). */
  async function upgraded(bulk = 0): Promise<{ store: ExecutionStore; tables: () => Promise<string[]> }> {
    const now = Date.now();
    if (backend === 'sqlite') {
      const path = join(await tempDir(), 'flowd.db');
      const old = new Database(path);
      migrateSqlite(old, 1);
      fillSqlite(old, now);
      if (bulk > 0) old.exec(bulkInsertSql(bulk, 'sqlite'));
      old.close();
      const store = SqliteExecutionStore.open({ path });
      cleanups.push(() => store.close());
      const tables = async (): Promise<string[]> =>
        (store.db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).all() as { name: string }[]).map((row) => row.name);
      return { store, tables };
    }
    const schema = tempSchema();
    const client = await pgClient(schema);
    await migratePostgres(client, schema, 1);
    await fillPostgres(client, now);
    if (bulk > 0) await client.query(bulkInsertSql(bulk, 'postgres'));
    const store = await PostgresExecutionStore.open({ connectionString: PG_URL, schema });
    cleanups.push(() => store.close());
    const tables = async (): Promise<string[]> =>
      (await client.query<{ tablename: string }>(`SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY tablename`, [schema])).rows.map((row) => row.tablename);
    return { store, tables };
  }

  it('turns every old execution into journal rows whose record matches the old one, and drops the old tables', async () => {
    const { store, tables } = await upgraded();
    expect(await tables()).toEqual(['flowd_callbacks', 'flowd_executions', 'flowd_idempotency_keys', 'flowd_journal', 'flowd_migrations', 'flowd_schedules', 'flowd_signals']);

    const ended = (await store.get(IDS.ended, { withState: true }))!;
    expect(ended.summary).toMatchObject({ executionId: IDS.ended, flow: 'order', status: 'succeeded', tenant: 'local', startedAt: Date.parse(ENDED_RECORD.startedAt) });
    expect(ended.options).toEqual({ requestId: 'req-1' });
    expect(typesOf(ended.rows)).toEqual([
      'execution_started', 'run_started', 'phase_started', 'log', 'phase_ended', 'phase_started', 'phase_ended', 'phase_started', 'phase_ended', 'log', 'execution_finished',
    ]);
    const record = recordView(decodeRows(ended.rows.map((row) => ({ ...row, state: null }))));
    expect(record).toMatchObject({ status: 'succeeded', output: { ok: true }, input: { order: 1, token: '***' }, requestId: 'req-1', startedAt: ENDED_RECORD.startedAt, finishedAt: ENDED_RECORD.finishedAt, durationMs: 1000 });
    expect(record.phases).toEqual(ENDED_RECORD.phases);
    // The raw values are in `state` only: the input, and each checkpointed output.
    expect(JSON.parse(ended.rows[0]!.state!)).toEqual({ input: { order: 1, token: 'raw-secret' } });
    expect(ended.rows[0]!.data).not.toContain('raw-secret');
    expect(ended.rows.filter((row) => row.state !== null).map((row): unknown => JSON.parse(row.state!))).toEqual([
      { input: { order: 1, token: 'raw-secret' } },
      { output: { id: 'r-1' } },
      { output: [1] },
    ]);

    const compensated = (await store.get(IDS.compensated, { withState: true }))!;
    expect(compensated.summary).toMatchObject({ status: 'compensated', errorCode: 'FLOWD_ERR_COMPONENT', recovered: false });
    const failed = recordView(decodeRows(compensated.rows.map((row) => ({ ...row, state: null }))));
    expect(failed).toMatchObject({
      status: 'compensated',
      errorHandled: true,
      error: COMPENSATED_RECORD.error,
      compensations: [{ phase: 'charge', status: 'succeeded', attempts: 1, durationMs: 12 }],
      recoveryExecutionId: IDS.recovery,
    });
    expect(failed.phases.map((phase) => [phase.id, phase.status, phase.attempts])).toEqual([['charge', 'compensated', 1], ['ship', 'failed', 3]]);
    expect(JSON.parse(compensated.rows.find((row) => row.type === 'recovery_ended')!.data)).toMatchObject({ flow: 'payment-recovery', succeeded: false });
    expect(JSON.parse(compensated.rows.find((row) => row.type === 'phase_ended')!.state!)).toEqual({ output: { charged: true }, compensable: { request: { method: 'POST', body: { amount: 5 } } } });

    const page = await store.list({ tenant: 'local', limit: 10 });
    expect(page.items.map((item) => item.executionId)).toEqual(Object.values(IDS).sort().reverse());
  });

  it('lets a worker claim the old queued execution and resume the crashed one from its checkpoints', async () => {
    const { store } = await upgraded();
    expect(await store.countQueued('local')).toBe(1);
    const claimed = await store.claim({ owner: 'new-worker', flows: [{ name: 'batch', hash: 'h1' }], limit: 5, leaseMs: 60_000 });
    expect(claimed.map((one) => one.lease.executionId)).toEqual([IDS.crashed, IDS.queued]);
    const [crashed, queued] = claimed;
    expect(crashed).toMatchObject({ lease: { owner: 'new-worker', epoch: 2 }, attempts: 2, options: { timeoutMs: 5000 } });
    expect(typesOf(crashed!.rows)).toEqual(['execution_started', 'run_started', 'phase_started', 'phase_ended', 'log', 'phase_started', 'phase_ended', 'phase_started', 'phase_ended']);
    const entries = decodeRows(crashed!.rows);
    const restored = entries.flatMap((entry) => (entry.type === 'phase_ended' && 'output' in entry ? [[(entries[entry.ref] as { key: string }).key, entry.output]] : []));
    expect(restored).toEqual([['fetch', { a: 1 }], ['each#0', 'x']]);
    expect(entries[0]).toMatchObject({ type: 'execution_started', input: { items: [1, 2] }, tenant: 'local' });
    expect(queued).toMatchObject({ lease: { epoch: 1 }, attempts: 1, options: { callbackUrl: 'http://callback.test/done' } });
    expect(decodeRows(queued!.rows)).toMatchObject([{ type: 'execution_started', input: { items: [3] } }]);
    // The resumed run carries on where the rows end; its writes are fenced as usual.
    await store.append(crashed!.lease, [{ seq: 9, type: 'run_started', data: '{"type":"run_started","run":2}', state: null }], 60_000);
    expect((await store.get(IDS.crashed))?.rows).toHaveLength(10);
  });

  it('keeps correlation lookups and idempotency keys working, callers\' keys scoped to the local tenant', async () => {
    const { store } = await upgraded();
    const found = await store.findSucceeded({ flow: 'verify', correlationKey: 'ck-1', tenant: 'local', withinMs: 60_000 });
    expect(found?.executionId).toBe(IDS.saved);
    expect(decodeRows([found!.finished])[0]).toMatchObject({ type: 'execution_finished', status: 'succeeded', output: { verified: true } });
    const replay = (key: string) => store.create(newExecution({ idempotency: { key, fingerprint: 'new', ttlMs: 60_000 } }));
    expect(await replay('u:local:abc')).toEqual({ created: false, executionId: IDS.ended, fingerprint: 'fp-abc' });
    expect(await replay('u:local:local:x')).toEqual({ created: false, executionId: IDS.compensated, fingerprint: 'fp-x' });
    expect(await replay('t:parent:flow:fp')).toEqual({ created: false, executionId: IDS.queued, fingerprint: 'fp-t' });
    expect((await replay('u:abc')).created).toBe(true);
  });

  it('converts a database larger than one page of the conversion', async () => {
    const { store } = await upgraded(450);
    expect(await store.countQueued('local')).toBe(451);
    const bulk = await store.list({ flow: 'bulk', limit: 1000 });
    expect(bulk.items).toHaveLength(450);
    const last = await store.get('bulk-00450', { withState: true });
    expect(decodeRows(last!.rows)).toMatchObject([{ type: 'execution_started', executionId: 'bulk-00450', input: { i: 1 } }]);
  });
});
