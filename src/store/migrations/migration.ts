import type Database from 'better-sqlite3';
import type pg from 'pg';

/** A step of a SQLite migration: a statement, or a function run inside the migration's transaction. */
export type SqliteStep = string | ((db: Database.Database) => void);
/** A step of a PostgreSQL migration: a statement, or a function run on the migration's connection, in its transaction. */
export type PostgresStep = string | ((client: pg.ClientBase) => Promise<void>);

/**
 * Versioned schema migrations, applied in order at start by every store (SQLite and PostgreSQL),
 * each in one transaction with the record of its version (src/store/migrations/runner.ts).
 * A migration is never edited once released: add a new version instead. Each store records the
 * versions it applied in `flowd_migrations`, so running them again is a no-op.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sqlite: readonly SqliteStep[];
  readonly postgres: readonly PostgresStep[];
}
