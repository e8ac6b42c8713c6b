import type { Migration } from './migration.js';

/**
 * Executions (record, queue state and lease on one row, so a fenced write is one statement),
 * phase checkpoints, idempotency keys and execution logs. Times are integer milliseconds taken
 * from the database clock. JSON is stored as text (exact round trip, `\u0000` included).
 */
export const initial: Migration = {
  version: 1,
  name: 'executions, checkpoints, idempotency keys, logs',
  sqlite: [
    `CREATE TABLE flowd_executions (
      id TEXT PRIMARY KEY,
      flow TEXT NOT NULL,
      flow_version TEXT NOT NULL,
      flow_hash TEXT NOT NULL,
      status TEXT NOT NULL,
      resumable INTEGER NOT NULL,
      input TEXT,
      options TEXT,
      record TEXT NOT NULL,
      parent_id TEXT,
      correlation_key TEXT,
      idempotency_key TEXT,
      created_at INTEGER NOT NULL,
      finished_at INTEGER,
      lease_owner TEXT,
      lease_epoch INTEGER NOT NULL DEFAULT 0,
      lease_expires_at INTEGER,
      attempts INTEGER NOT NULL DEFAULT 0,
      cancel_requested INTEGER NOT NULL DEFAULT 0
    )`,
    `CREATE INDEX flowd_executions_queued ON flowd_executions (id) WHERE status = 'queued'`,
    `CREATE INDEX flowd_executions_leases ON flowd_executions (lease_expires_at) WHERE status = 'running' AND resumable = 1`,
    `CREATE INDEX flowd_executions_flow ON flowd_executions (flow, id)`,
    `CREATE INDEX flowd_executions_status ON flowd_executions (status, id)`,
    `CREATE INDEX flowd_executions_finished ON flowd_executions (finished_at) WHERE finished_at IS NOT NULL`,
    `CREATE INDEX flowd_executions_correlation ON flowd_executions (flow, correlation_key, finished_at) WHERE status = 'succeeded'`,
    `CREATE INDEX flowd_executions_parent ON flowd_executions (parent_id) WHERE parent_id IS NOT NULL`,
    `CREATE TABLE flowd_checkpoints (
      execution_id TEXT NOT NULL REFERENCES flowd_executions (id) ON DELETE CASCADE,
      key TEXT NOT NULL,
      output TEXT,
      request TEXT,
      epoch INTEGER NOT NULL,
      created_at INTEGER NOT NULL,
      PRIMARY KEY (execution_id, key)
    )`,
    `CREATE TABLE flowd_idempotency_keys (
      key TEXT PRIMARY KEY,
      fingerprint TEXT NOT NULL,
      execution_id TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL
    )`,
    `CREATE INDEX flowd_idempotency_keys_expires ON flowd_idempotency_keys (expires_at)`,
    `CREATE INDEX flowd_idempotency_keys_execution ON flowd_idempotency_keys (execution_id)`,
    `CREATE TABLE flowd_execution_logs (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      execution_id TEXT NOT NULL REFERENCES flowd_executions (id) ON DELETE CASCADE,
      entry TEXT NOT NULL
    )`,
    `CREATE INDEX flowd_execution_logs_execution ON flowd_execution_logs (execution_id, id)`,
  ],
  postgres: [
    `CREATE TABLE flowd_executions (
      id text PRIMARY KEY,
      flow text NOT NULL,
      flow_version text NOT NULL,
      flow_hash text NOT NULL,
      status text NOT NULL,
      resumable boolean NOT NULL,
      input text,
      options text,
      record text NOT NULL,
      parent_id text,
      correlation_key text,
      idempotency_key text,
      created_at bigint NOT NULL,
      finished_at bigint,
      lease_owner text,
      lease_epoch integer NOT NULL DEFAULT 0,
      lease_expires_at bigint,
      attempts integer NOT NULL DEFAULT 0,
      cancel_requested boolean NOT NULL DEFAULT false
    )`,
    `CREATE INDEX flowd_executions_queued ON flowd_executions (id) WHERE status = 'queued'`,
    `CREATE INDEX flowd_executions_leases ON flowd_executions (lease_expires_at) WHERE status = 'running' AND resumable`,
    `CREATE INDEX flowd_executions_flow ON flowd_executions (flow, id)`,
    `CREATE INDEX flowd_executions_status ON flowd_executions (status, id)`,
    `CREATE INDEX flowd_executions_finished ON flowd_executions (finished_at) WHERE finished_at IS NOT NULL`,
    `CREATE INDEX flowd_executions_correlation ON flowd_executions (flow, correlation_key, finished_at) WHERE status = 'succeeded'`,
    `CREATE INDEX flowd_executions_parent ON flowd_executions (parent_id) WHERE parent_id IS NOT NULL`,
    `CREATE TABLE flowd_checkpoints (
      execution_id text NOT NULL REFERENCES flowd_executions (id) ON DELETE CASCADE,
      key text NOT NULL,
      output text,
      request text,
      epoch integer NOT NULL,
      created_at bigint NOT NULL,
      PRIMARY KEY (execution_id, key)
    )`,
    `CREATE TABLE flowd_idempotency_keys (
      key text PRIMARY KEY,
      fingerprint text NOT NULL,
      execution_id text NOT NULL,
      created_at bigint NOT NULL,
      expires_at bigint NOT NULL
    )`,
    `CREATE INDEX flowd_idempotency_keys_expires ON flowd_idempotency_keys (expires_at)`,
    `CREATE INDEX flowd_idempotency_keys_execution ON flowd_idempotency_keys (execution_id)`,
    `CREATE TABLE flowd_execution_logs (
      id bigserial PRIMARY KEY,
      execution_id text NOT NULL REFERENCES flowd_executions (id) ON DELETE CASCADE,
      entry text NOT NULL
    )`,
    `CREATE INDEX flowd_execution_logs_execution ON flowd_execution_logs (execution_id, id)`,
  ],
};
