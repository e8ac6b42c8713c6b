import { convertPostgres, convertSqlite } from './convert-0001.js';
import { LEGACY_TENANT } from './journal-from-0001.js';
import type { Migration } from './migration.js';

/** The indexes of 0001's execution table, dropped with it (their names are taken again). */
const OLD_INDEXES = ['queued', 'leases', 'flow', 'status', 'finished', 'correlation', 'parent'].map((name) => `DROP INDEX flowd_executions_${name}`);

/**
 * Indexes of the summary table. Each costs every non-HOT update of the row, so only what a query
 * needs: lists (newest first, all or by tenant / flow / status), the queue (queued by tenant, for
 * fair claims and per-tenant bounds; expired leases are found through `status = 'running'`),
 * `findSucceeded`, and the purge (by end time). Lease renewals change no indexed column.
 */
const SUMMARY_INDEXES = [
  `CREATE INDEX flowd_executions_tenant ON flowd_executions (tenant, id)`,
  `CREATE INDEX flowd_executions_flow ON flowd_executions (flow, id)`,
  `CREATE INDEX flowd_executions_status ON flowd_executions (status, id)`,
  `CREATE INDEX flowd_executions_queue ON flowd_executions (tenant, id) WHERE status = 'queued'`,
  `CREATE INDEX flowd_executions_succeeded ON flowd_executions (flow, tenant, correlation_key, finished_at) WHERE status = 'succeeded'`,
  `CREATE INDEX flowd_executions_finished ON flowd_executions (finished_at) WHERE finished_at IS NOT NULL`,
];

/**
 * 0.1.0 stored a caller's key as `u:<key>`; the durable layer now scopes keys by tenant
 * (`u:<tenant>:<key>`, src/durable/idempotency.ts), and 0.1.0 had one tenant, `local`. Moved
 * through a prefix no key has, so no intermediate value collides with a key not moved yet.
 */
const RESCOPE_KEYS = [
  `UPDATE flowd_idempotency_keys SET key = 'migrating:' || key WHERE substr(key, 1, 2) = 'u:'`,
  `UPDATE flowd_idempotency_keys SET key = 'u:${LEGACY_TENANT}:' || substr(key, 13) WHERE substr(key, 1, 12) = 'migrating:u:'`,
];

/**
 * The execution journal (issue 13): each execution is a summary row (lists, queue, lease) and its
 * journal rows `(execution_id, seq, type, data, state)`; records, checkpoints and log lines are
 * no longer stored apart. 0.1.0 databases are converted in place (convert-0001.ts): every old
 * execution becomes journal rows synthesised from its record, checkpoints and log lines, then the
 * old tables go. Callers' idempotency keys move to the tenant-scoped form (`u:local:<key>`).
 */
export const journal: Migration = {
  version: 2,
  name: 'execution journal rows and summaries (0.1.0 records, checkpoints and logs converted)',
  sqlite: [
    `ALTER TABLE flowd_executions RENAME TO flowd_executions_0001`,
    ...OLD_INDEXES,
    `CREATE TABLE flowd_executions (
      id TEXT PRIMARY KEY,
      flow TEXT NOT NULL,
      flow_version TEXT NOT NULL,
      flow_hash TEXT NOT NULL,
      status TEXT NOT NULL,
      tenant TEXT NOT NULL,
      options TEXT,
      parent_id TEXT,
      correlation_key TEXT,
      started_at INTEGER NOT NULL,
      finished_at INTEGER,
      error_code TEXT,
      recovered INTEGER,
      lease_owner TEXT,
      lease_epoch INTEGER NOT NULL DEFAULT 0,
      lease_expires_at INTEGER,
      attempts INTEGER NOT NULL DEFAULT 0,
      cancel_requested INTEGER NOT NULL DEFAULT 0
    )`,
    ...SUMMARY_INDEXES,
    `CREATE TABLE flowd_journal (
      execution_id TEXT NOT NULL,
      seq INTEGER NOT NULL,
      type TEXT NOT NULL,
      data TEXT NOT NULL,
      state TEXT,
      PRIMARY KEY (execution_id, seq)
    )`,
    convertSqlite,
    `DROP TABLE flowd_execution_logs`,
    `DROP TABLE flowd_checkpoints`,
    `DROP TABLE flowd_executions_0001`,
    ...RESCOPE_KEYS,
  ],
  postgres: [
    `ALTER TABLE flowd_executions RENAME TO flowd_executions_0001`,
    `ALTER TABLE flowd_executions_0001 RENAME CONSTRAINT flowd_executions_pkey TO flowd_executions_0001_pkey`,
    ...OLD_INDEXES,
    // Room on each page for HOT updates: lease renewals and heartbeats rewrite no index.
    `CREATE TABLE flowd_executions (
      id text PRIMARY KEY,
      flow text NOT NULL,
      flow_version text NOT NULL,
      flow_hash text NOT NULL,
      status text NOT NULL,
      tenant text NOT NULL,
      options text,
      parent_id text,
      correlation_key text,
      started_at bigint NOT NULL,
      finished_at bigint,
      error_code text,
      recovered boolean,
      lease_owner text,
      lease_epoch integer NOT NULL DEFAULT 0,
      lease_expires_at bigint,
      attempts integer NOT NULL DEFAULT 0,
      cancel_requested boolean NOT NULL DEFAULT false
    ) WITH (fillfactor = 80)`,
    ...SUMMARY_INDEXES,
    `CREATE TABLE flowd_journal (
      execution_id text NOT NULL,
      seq integer NOT NULL,
      type text NOT NULL,
      data text NOT NULL,
      state text,
      PRIMARY KEY (execution_id, seq)
    )`,
    convertPostgres,
    `DROP TABLE flowd_execution_logs`,
    `DROP TABLE flowd_checkpoints`,
    `DROP TABLE flowd_executions_0001`,
    ...RESCOPE_KEYS,
  ],
};

