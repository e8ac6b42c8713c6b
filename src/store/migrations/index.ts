import { initial } from './0001-initial.js';

/**
 * Versioned schema migrations, applied in order at start by every store (SQLite and PostgreSQL).
 * A migration is never edited once released: add a new version instead. Each store records the
 * versions it applied in `flowd_migrations`, so running them again is a no-op.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sqlite: readonly string[];
  readonly postgres: readonly string[];
}

export const MIGRATIONS: readonly Migration[] = [initial];

/** The newest schema version this build knows. */
export const LATEST_VERSION = Math.max(...MIGRATIONS.map((migration) => migration.version));
