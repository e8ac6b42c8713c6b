import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { EnvConfig } from '../../config/env.js';
import { SQLITE_FILE_NAME } from '../create-store.js';
import { MemoryScheduleStore, type ScheduleStore } from './schedule-store.js';
import { PostgresScheduleStore } from './postgres-schedules.js';
import { SqliteScheduleStore } from './sqlite-schedules.js';

type StoreConfig = Pick<EnvConfig, 'STORE' | 'DATA_DIR' | 'DATABASE_URL' | 'DATABASE_SCHEMA'>;

/**
 * The schedule rows next to the executions, on a connection of their own: the same SQLite file
 * or PostgreSQL schema (migrated when the execution store opened), or memory.
 */
export function createScheduleStore(config: StoreConfig, onPoolError?: (error: Error) => void): ScheduleStore {
  switch (config.STORE) {
    case 'memory':
      return new MemoryScheduleStore();
    case 'sqlite': {
      const db = new Database(join(resolve(config.DATA_DIR), SQLITE_FILE_NAME));
      db.pragma('busy_timeout = 5000');
      return new SqliteScheduleStore(db, true);
    }
    case 'postgres': {
      const pool = new pg.Pool({ connectionString: config.DATABASE_URL, max: 2, options: `-c search_path=${config.DATABASE_SCHEMA}`, application_name: 'flowd-schedules' });
      pool.on('error', (error) => onPoolError?.(error));
      return new PostgresScheduleStore(pool, true);
    }
  }
}
