import { join, resolve } from 'node:path';
import type { EnvConfig } from '../config/env.js';
import type { ExecutionStore } from './execution-store.js';
import { MemoryExecutionStore } from './memory-store.js';
import { PostgresExecutionStore } from './postgres-store.js';
import { SqliteExecutionStore } from './sqlite-store.js';
import { StateCipher, withStateEncryption } from './state-encryption.js';

export const SQLITE_FILE_NAME = 'flowd.db';

type StoreConfig = Pick<
  EnvConfig,
  'STORE' | 'DATA_DIR' | 'DATABASE_URL' | 'DATABASE_SCHEMA' | 'DATABASE_POOL_MAX' | 'DATABASE_WRITE_BATCHES' | 'SQLITE_SYNCHRONOUS' | 'EXECUTIONS_MAX' | 'STATE_ENCRYPTION_KEY'
>;

/**
 * The store named by STORE, opened and migrated: `memory` (tests; nothing survives a restart),
 * `sqlite` (DATA_DIR/flowd.db, WAL) or `postgres` (DATABASE_URL, tables in DATABASE_SCHEMA).
 */
export async function createStore(config: StoreConfig, options: { onPoolError?: (error: Error) => void } = {}): Promise<ExecutionStore> {
  // Checked before anything is opened: a bad key never starts the service.
  const cipher = config.STATE_ENCRYPTION_KEY === undefined ? undefined : new StateCipher(config.STATE_ENCRYPTION_KEY);
  const store = await openStore(config, options);
  return cipher === undefined ? store : withStateEncryption(store, cipher);
}

async function openStore(config: StoreConfig, options: { onPoolError?: (error: Error) => void }): Promise<ExecutionStore> {
  switch (config.STORE) {
    case 'memory':
      return new MemoryExecutionStore({ maxExecutions: config.EXECUTIONS_MAX });
    case 'sqlite':
      return SqliteExecutionStore.open({ path: join(resolve(config.DATA_DIR), SQLITE_FILE_NAME), synchronous: config.SQLITE_SYNCHRONOUS });
    case 'postgres':
      return PostgresExecutionStore.open({
        connectionString: config.DATABASE_URL!,
        schema: config.DATABASE_SCHEMA,
        poolMax: config.DATABASE_POOL_MAX,
        groupCommit: { maxInFlight: config.DATABASE_WRITE_BATCHES },
        ...(options.onPoolError === undefined ? {} : { onPoolError: options.onPoolError }),
      });
  }
}
