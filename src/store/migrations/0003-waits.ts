import type { Migration } from './migration.js';

/**
 * Signals kept until a wait takes them. The unique key makes a repeated delivery (same execution,
 * name and idempotency key) count once; deliveries without a key have a NULL there, and NULLs are
 * distinct in a unique index in both databases, so they never collide. The same index, by its
 * prefix, serves lookups by (execution_id, name): no second index to maintain.
 */
const SIGNALS = {
  sqlite: `CREATE TABLE flowd_signals (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      execution_id TEXT NOT NULL,
      name TEXT NOT NULL,
      payload TEXT NOT NULL,
      idempotency_key TEXT,
      received_at INTEGER NOT NULL,
      taken_by TEXT,
      UNIQUE (execution_id, name, idempotency_key)
    )`,
  postgres: `CREATE TABLE flowd_signals (
      id bigserial PRIMARY KEY,
      execution_id text NOT NULL,
      name text NOT NULL,
      payload text NOT NULL,
      idempotency_key text,
      received_at bigint NOT NULL,
      taken_by text,
      UNIQUE (execution_id, name, idempotency_key)
    )`,
};

/** Single-use callback tokens (only their SHA-256), one per wait: a new one for the same wait replaces it. */
const CALLBACKS = {
  sqlite: `CREATE TABLE flowd_callbacks (
      token_hash TEXT PRIMARY KEY,
      execution_id TEXT NOT NULL,
      wait_key TEXT NOT NULL,
      signal TEXT NOT NULL,
      expires_at INTEGER NOT NULL,
      used_at INTEGER,
      UNIQUE (execution_id, wait_key)
    )`,
  postgres: `CREATE TABLE flowd_callbacks (
      token_hash text PRIMARY KEY,
      execution_id text NOT NULL,
      wait_key text NOT NULL,
      signal text NOT NULL,
      expires_at bigint NOT NULL,
      used_at bigint,
      UNIQUE (execution_id, wait_key)
    )`,
};

/** Due waiting executions, for claims (few rows: only those waiting are indexed). */
const WAKE_INDEX = `CREATE INDEX flowd_executions_wake ON flowd_executions (wake_at) WHERE status = 'waiting'`;

/**
 * Version 3: durable waits (issue 15, docs/waits.md). A waiting execution keeps its summary row
 * with `wake_at` (store clock, ms: when it is claimed again at the latest) and `waiting_for`
 * (time, signal, callback); signals and callback tokens live in their own tables. Independent of
 * version 4 (schedules): a database that has 1, 2 and 4 gets 3 added.
 */
export const waits: Migration = {
  version: 3,
  name: '0003-waits',
  sqlite: [
    `ALTER TABLE flowd_executions ADD COLUMN wake_at INTEGER`,
    `ALTER TABLE flowd_executions ADD COLUMN waiting_for TEXT`,
    WAKE_INDEX,
    SIGNALS.sqlite,
    CALLBACKS.sqlite,
  ],
  postgres: [
    `ALTER TABLE flowd_executions ADD COLUMN wake_at bigint`,
    `ALTER TABLE flowd_executions ADD COLUMN waiting_for text`,
    WAKE_INDEX,
    SIGNALS.postgres,
    CALLBACKS.postgres,
  ],
};
