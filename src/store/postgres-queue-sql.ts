import { TERMINAL } from './execution-store.js';
import { NOW } from './postgres-batch.js';
import { SUMMARY_COLUMNS, qualified } from './summary-row.js';

/**
 * How many expired leases, and how many due waiting executions, one claim considers per slot
 * (expired leases are few: crashed or stalled workers; due waits are found by the wake index).
 */
const EXPIRED_CANDIDATES = 8;

/**
 * Claims up to $3 executions for owner $4 with a lease of $5 ms, among definitions ($1 names,
 * $2 hashes), fairly between tenants: each tenant's oldest claimable execution before any
 * tenant's second. Tenants with queued work are found by a loose index scan of the queue index
 * (one probe per tenant), and each contributes at most $3 candidates, so a claim reads
 * O(tenants × limit) rows however long the queue. Expired leases and waiting executions whose
 * wake time has passed (store clock; the partial wake index, earliest first) join as candidates
 * too. Candidates another replica is claiming are
 * skipped (SKIP LOCKED), never waited for.
 */
export const CLAIM_STATEMENT = `
WITH RECURSIVE defs AS (SELECT * FROM unnest($1::text[], $2::text[]) AS d(flow, hash)),
tenants AS (
  (SELECT tenant FROM flowd_executions WHERE status = 'queued' ORDER BY tenant LIMIT 1)
  UNION ALL
  SELECT (SELECT e.tenant FROM flowd_executions e WHERE e.status = 'queued' AND e.tenant > t.tenant ORDER BY e.tenant LIMIT 1)
  FROM tenants t WHERE t.tenant IS NOT NULL
),
candidates AS (
  SELECT q.id, q.tenant FROM tenants t CROSS JOIN LATERAL (
    SELECT e.id, e.tenant FROM flowd_executions e
    WHERE e.status = 'queued' AND e.tenant = t.tenant AND EXISTS (SELECT 1 FROM defs d WHERE d.flow = e.flow AND d.hash = e.flow_hash)
    ORDER BY e.id LIMIT $3
  ) q
  WHERE t.tenant IS NOT NULL
  UNION ALL
  (SELECT e.id, e.tenant FROM flowd_executions e
   WHERE e.status = 'running' AND e.lease_expires_at < ${NOW} AND EXISTS (SELECT 1 FROM defs d WHERE d.flow = e.flow AND d.hash = e.flow_hash)
   ORDER BY e.id LIMIT $3 * ${EXPIRED_CANDIDATES})
  UNION ALL
  (SELECT e.id, e.tenant FROM flowd_executions e
   WHERE e.status = 'waiting' AND e.wake_at <= ${NOW} AND EXISTS (SELECT 1 FROM defs d WHERE d.flow = e.flow AND d.hash = e.flow_hash)
   ORDER BY e.wake_at, e.id LIMIT $3 * ${EXPIRED_CANDIDATES})
),
ranked AS (
  SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY tenant ORDER BY id) AS turn FROM candidates) c ORDER BY turn, id LIMIT $3
),
picked AS (
  SELECT e.id FROM flowd_executions e
  WHERE e.id IN (SELECT id FROM ranked)
    AND (e.status = 'queued' OR (e.status = 'running' AND e.lease_expires_at < ${NOW}) OR (e.status = 'waiting' AND e.wake_at <= ${NOW}))
  ORDER BY e.id FOR UPDATE OF e SKIP LOCKED
)
UPDATE flowd_executions e
SET status = 'running', wake_at = NULL, waiting_for = NULL, waiting_signal = NULL, lease_owner = $4, lease_epoch = e.lease_epoch + 1, lease_expires_at = ${NOW} + $5::bigint, attempts = e.attempts + 1
FROM picked WHERE e.id = picked.id
RETURNING ${qualified('e', SUMMARY_COLUMNS)}, e.options, e.lease_epoch, e.attempts, e.cancel_requested`;

/**
 * Renews the leases ($1 ids, $2 epochs) owner $3 still holds by $4 ms. Rows are locked in id
 * order, as the write batches lock them, so a heartbeat and a batch never deadlock.
 */
export const HEARTBEAT_STATEMENT = `
WITH locked AS (
  SELECT e.id FROM flowd_executions e JOIN unnest($1::text[], $2::int[]) AS held(id, epoch) ON held.id = e.id
  WHERE e.lease_epoch = held.epoch AND e.lease_owner = $3 AND e.status = 'running'
  ORDER BY e.id FOR NO KEY UPDATE OF e
)
UPDATE flowd_executions e SET lease_expires_at = ${NOW} + $4::bigint
FROM locked WHERE e.id = locked.id
RETURNING e.id, e.cancel_requested`;

/**
 * Deletes up to $2 ended executions finished more than $1 ms ago, with their rows and keys, and up
 * to $2 expired keys; answers how many executions and keys went. SKIP LOCKED: replicas purging at
 * the same moment take different rows instead of waiting.
 */
export const PURGE_STATEMENT = `
WITH gone AS (
  DELETE FROM flowd_executions WHERE id IN (
    SELECT id FROM flowd_executions WHERE finished_at < ${NOW} - $1::bigint AND status IN (${TERMINAL.map((status) => `'${status}'`).join(', ')})
    ORDER BY finished_at LIMIT $2 FOR UPDATE SKIP LOCKED)
  RETURNING id
),
gone_rows AS (DELETE FROM flowd_journal WHERE execution_id IN (SELECT id FROM gone)),
gone_signals AS (DELETE FROM flowd_signals WHERE execution_id IN (SELECT id FROM gone)),
gone_callbacks AS (DELETE FROM flowd_callbacks WHERE execution_id IN (SELECT id FROM gone)),
gone_keys AS (DELETE FROM flowd_idempotency_keys WHERE execution_id IN (SELECT id FROM gone) RETURNING 1),
expired AS (
  DELETE FROM flowd_idempotency_keys WHERE key IN (
    SELECT key FROM flowd_idempotency_keys WHERE expires_at <= ${NOW} LIMIT $2 FOR UPDATE SKIP LOCKED)
  RETURNING 1
)
SELECT (SELECT count(*) FROM gone) + (SELECT count(*) FROM gone_keys) + (SELECT count(*) FROM expired) AS removed`;
