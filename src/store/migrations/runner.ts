import type Database from 'better-sqlite3';
import type pg from 'pg';
import { LATEST_VERSION, MIGRATIONS } from './index.js';

const SQLITE_NOW = `CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)`;
const POSTGRES_NOW = `(extract(epoch FROM clock_timestamp()) * 1000)::bigint`;

/**
 * Applies pending migrations up to `target` in one IMMEDIATE transaction (serialised across
 * processes sharing the file); returns how many were applied.
 */
export function migrateSqlite(db: Database.Database, target = LATEST_VERSION): number {
  const run = db.transaction((): number => {
    db.exec(`CREATE TABLE IF NOT EXISTS flowd_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
    const applied = new Set((db.prepare(`SELECT version FROM flowd_migrations`).all() as { version: number }[]).map((row) => row.version));
    refuseNewer(applied);
    let count = 0;
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.version) || migration.version > target) continue;
      for (const step of migration.sqlite) {
        if (typeof step === 'string') db.exec(step);
        else step(db);
      }
      db.prepare(`INSERT INTO flowd_migrations (version, name, applied_at) VALUES (?, ?, ${SQLITE_NOW})`).run(migration.version, migration.name);
      count += 1;
    }
    return count;
  });
  return run.immediate();
}

/**
 * Applies pending migrations up to `target` in one transaction holding a transaction-scoped
 * advisory lock, so replicas starting together apply each migration exactly once. Returns how
 * many were applied.
 */
export async function migratePostgres(client: pg.ClientBase, schema: string, target = LATEST_VERSION): Promise<number> {
  try {
    await client.query('BEGIN');
    await client.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`flowd:migrations:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await client.query(`CREATE TABLE IF NOT EXISTS flowd_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)`);
    const applied = new Set((await client.query<{ version: number }>(`SELECT version FROM flowd_migrations`)).rows.map((row) => row.version));
    refuseNewer(applied);
    let count = 0;
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.version) || migration.version > target) continue;
      for (const step of migration.postgres) {
        if (typeof step === 'string') await client.query(step);
        else await step(client);
      }
      await client.query(`INSERT INTO flowd_migrations (version, name, applied_at) VALUES ($1, $2, ${POSTGRES_NOW})`, [migration.version, migration.name]);
      count += 1;
    }
    await client.query('COMMIT');
    return count;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/**
 * A database a newer flowd has migrated is not run by this one: what a newer schema means (a new
 * row format, a column it relies on) is unknown here, and reading it as this version's could be
 * silently wrong. Nothing is changed: the caller's transaction rolls back.
 */
function refuseNewer(applied: ReadonlySet<number>): void {
  const newest = Math.max(0, ...applied);
  if (newest > LATEST_VERSION) {
    throw new Error(
      `the database's schema is at version ${newest}, newer than this flowd knows (${LATEST_VERSION}): a newer flowd migrated it; run that version or a later one`,
    );
  }
}
