/** (e) Versioned migrations: applied once; running them again (or from several processes at once) is a no-op. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { newExecutionId } from '../../src/engine/ids.js';
import { LATEST_VERSION, MIGRATIONS } from '../../src/store/migrations/index.js';
import { PostgresExecutionStore } from '../../src/store/postgres-store.js';
import { SqliteExecutionStore } from '../../src/store/sqlite-store.js';
import { PG_URL, dropSchema } from '../durable/helpers.js';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

function sampleRecord(executionId: string) {
  return {
    executionId,
    flow: 'm',
    version: '1',
    status: 'succeeded' as const,
    startedAt: new Date().toISOString(),
    errorHandled: false,
    fallbackExecuted: false,
    recovered: false,
    phases: [],
  };
}

describe('migrations', () => {
  it('knows its versions in order, without gaps', () => {
    expect(MIGRATIONS.map((migration) => migration.version)).toEqual(Array.from({ length: MIGRATIONS.length }, (_, i) => i + 1));
    expect(LATEST_VERSION).toBe(MIGRATIONS.length);
  });

  it('sqlite: a second run, and a reopen of the same file, change nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flowd-migrate-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'flowd.db');
    const first = SqliteExecutionStore.open({ path });
    const schema = (): unknown[] => first.db.prepare(`SELECT type, name, sql FROM sqlite_master ORDER BY type, name`).all();
    const before = schema();
    expect(first.appliedMigrations()).toEqual([LATEST_VERSION]);
    const id = newExecutionId();
    await first.save(sampleRecord(id));
    expect(first.migrate()).toBe(0);
    expect(schema()).toEqual(before);
    const second = SqliteExecutionStore.open({ path });
    expect(second.appliedMigrations()).toEqual([LATEST_VERSION]);
    expect(await second.get(id)).toMatchObject({ executionId: id, status: 'succeeded' });
    expect(schema()).toEqual(before);
    expect(first.db.pragma('journal_mode', { simple: true })).toBe('wal');
    await second.close();
    await first.close();
  });

  it('postgres: replicas starting together apply each migration once; a second run is a no-op', async () => {
    const schemaName = `flowd_test_${randomBytes(5).toString('hex')}`;
    cleanups.push(() => dropSchema(schemaName));
    // Two "replicas" start at the same moment on an empty schema: the advisory lock serialises them.
    const [a, b] = await Promise.all([
      PostgresExecutionStore.open({ connectionString: PG_URL, schema: schemaName }),
      PostgresExecutionStore.open({ connectionString: PG_URL, schema: schemaName }),
    ]);
    cleanups.push(async () => {
      await a.close();
      await b.close();
    });
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    cleanups.push(() => client.end());
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
    const applied = await client.query(`SELECT version FROM "${schemaName}".flowd_migrations ORDER BY version`);
    expect(applied.rows.map((row: { version: number }) => row.version)).toEqual([LATEST_VERSION]);
    const id = newExecutionId();
    await a.save(sampleRecord(id));
    expect(await a.migrate()).toBe(0);
    expect(await b.migrate()).toBe(0);
    const again = await PostgresExecutionStore.open({ connectionString: PG_URL, schema: schemaName });
    expect(await again.appliedMigrations()).toEqual([LATEST_VERSION]);
    expect(await again.get(id)).toMatchObject({ executionId: id });
    await again.close();
    expect(await snapshot()).toEqual(before);
  });
});
