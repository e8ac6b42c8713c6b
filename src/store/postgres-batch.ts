import type { FinishedSummary, JournalRow, Lease, NewExecution, SavedExecution } from './execution-store.js';
import { packRows } from './journal-packing.js';

/** The database clock in ms: every lease and window is computed by PostgreSQL, never by a replica. */
export const NOW = `(extract(epoch FROM clock_timestamp()) * 1000)::bigint`;

/** One write of the batch: what each ExecutionStore write method becomes. */
export type WriteOp =
  | { readonly kind: 'append'; readonly lease: Lease; readonly rows: readonly JournalRow[]; readonly leaseMs: number }
  | { readonly kind: 'finish'; readonly lease: Lease; readonly rows: readonly JournalRow[]; readonly summary: FinishedSummary; readonly clearState: boolean }
  | { readonly kind: 'save'; readonly execution: SavedExecution }
  | { readonly kind: 'create'; readonly execution: NewExecution };

/** A row of the batch statement's answer: an execution written, or the holder of a taken idempotency key. */
export interface BatchAnswer {
  /** The execution the op named. */
  id: string;
  /** Set when the create's key was taken (not expired): the execution holding it, and its fingerprint. */
  holder: string | null;
  fingerprint: string | null;
}

/**
 * Every write of a batch in ONE statement (one round trip, one transaction, prepared once per
 * connection): appends and finishes fenced by their lease epoch (rows locked in id order, so two
 * batches or a batch and a heartbeat never deadlock), saves that never overwrite, creates with
 * their idempotency keys, then the journal rows of exactly the executions that passed. An op
 * that does not pass writes nothing and leaves the others alone; the answer names who passed.
 * A leased execution's journal row is left out when the journal already reaches its last `seq`
 * (a retried write; a partial overlap is stored and read once per entry, journal-packing.ts).
 * An append only locks its summary row (no new row version, no index entry) unless less than
 * half of its lease is left: then it renews the lease.
 */
export const BATCH_STATEMENT = `
WITH clock AS (SELECT ${NOW} AS now),
fenced_in AS (
  SELECT * FROM unnest($1::text[], $2::integer[], $3::bigint[], $4::text[], $5::text[], $6::boolean[], $7::boolean[])
    AS t(id, epoch, lease_ms, status, error_code, recovered, clear)
),
held AS (
  SELECT e.id, e.lease_expires_at FROM flowd_executions e JOIN fenced_in f ON f.id = e.id
  WHERE e.lease_epoch = f.epoch AND e.status = 'running'
  ORDER BY e.id FOR NO KEY UPDATE OF e
),
changed AS (
  UPDATE flowd_executions e SET
    status = coalesce(f.status, e.status),
    lease_expires_at = CASE WHEN f.status IS NULL THEN clock.now + f.lease_ms END,
    lease_owner = CASE WHEN f.status IS NULL THEN e.lease_owner END,
    finished_at = CASE WHEN f.status IS NULL THEN e.finished_at ELSE clock.now END,
    error_code = CASE WHEN f.status IS NULL THEN e.error_code ELSE f.error_code END,
    recovered = CASE WHEN f.status IS NULL THEN e.recovered ELSE f.recovered END
  FROM fenced_in f, held, clock
  WHERE e.id = f.id AND held.id = f.id AND (f.status IS NOT NULL OR held.lease_expires_at < clock.now + f.lease_ms / 2)
),
fenced AS (SELECT f.id, f.clear FROM held JOIN fenced_in f ON f.id = held.id),
saves_in AS (
  SELECT * FROM unnest($8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[],
    $17::boolean[], $18::bigint[])
    AS t(id, flow, version, hash, tenant, parent_id, correlation_key, status, error_code, recovered, started_at)
),
saved AS (
  INSERT INTO flowd_executions (id, flow, flow_version, flow_hash, status, tenant, parent_id, correlation_key, started_at, finished_at, error_code, recovered)
  SELECT s.id, s.flow, s.version, s.hash, s.status, s.tenant, s.parent_id, s.correlation_key, coalesce(s.started_at, clock.now), clock.now,
    s.error_code, s.recovered
  FROM saves_in s, clock
  ON CONFLICT (id) DO NOTHING
  RETURNING id
),
creates_in AS (
  SELECT * FROM unnest($19::text[], $20::text[], $21::text[], $22::text[], $23::text[], $24::text[], $25::text[], $26::text[], $27::text[],
    $28::text[], $29::bigint[], $30::text[], $31::text[], $32::bigint[])
    AS t(id, flow, version, hash, tenant, options, parent_id, correlation_key, status, owner, lease_ms, key, fingerprint, ttl_ms)
),
keyed AS (
  INSERT INTO flowd_idempotency_keys AS k (key, fingerprint, execution_id, created_at, expires_at)
  SELECT c.key, c.fingerprint, c.id, clock.now, clock.now + c.ttl_ms FROM creates_in c, clock WHERE c.key IS NOT NULL
  ON CONFLICT (key) DO UPDATE SET fingerprint = excluded.fingerprint, execution_id = excluded.execution_id,
    created_at = excluded.created_at, expires_at = excluded.expires_at
  WHERE k.expires_at <= excluded.created_at
  RETURNING k.key
),
created AS (
  INSERT INTO flowd_executions (id, flow, flow_version, flow_hash, status, tenant, options, parent_id, correlation_key, started_at,
    lease_owner, lease_epoch, lease_expires_at, attempts)
  SELECT c.id, c.flow, c.version, c.hash, c.status, c.tenant, c.options, c.parent_id, c.correlation_key, clock.now, c.owner,
    CASE WHEN c.status = 'running' THEN 1 ELSE 0 END, CASE WHEN c.status = 'running' THEN clock.now + c.lease_ms END,
    CASE WHEN c.status = 'running' THEN 1 ELSE 0 END
  FROM creates_in c, clock
  WHERE c.key IS NULL OR c.key IN (SELECT key FROM keyed)
  RETURNING id
),
passed AS (
  SELECT id, clear, true AS leased FROM fenced UNION ALL SELECT id, false, false FROM saved UNION ALL SELECT id, false, false FROM created
),
written AS (
  INSERT INTO flowd_journal (execution_id, seq, type, data, state)
  SELECT r.execution_id, r.seq, r.type, convert_from(substring($36::bytea FROM r.offset_in FOR r.length_in), 'UTF8'),
    CASE WHEN p.clear THEN NULL ELSE r.state END
  FROM unnest($33::text[], $34::integer[], $35::text[], $37::integer[], $38::integer[], $39::text[])
    AS r(execution_id, seq, type, offset_in, length_in, state)
  JOIN passed p ON p.id = r.execution_id
  WHERE NOT p.leased OR NOT EXISTS (SELECT 1 FROM flowd_journal j WHERE j.execution_id = r.execution_id AND j.seq >= r.seq)
  ON CONFLICT (execution_id, seq) DO NOTHING
),
cleared AS (
  UPDATE flowd_journal j SET state = NULL FROM fenced f WHERE f.clear AND j.execution_id = f.id AND j.state IS NOT NULL
)
SELECT id, NULL::text AS holder, NULL::text AS fingerprint FROM passed
UNION ALL
SELECT c.id, k.execution_id, k.fingerprint FROM creates_in c JOIN flowd_idempotency_keys k ON k.key = c.key
WHERE c.key NOT IN (SELECT key FROM keyed)`;

/** The id of the execution an op writes. */
export function opExecutionId(op: WriteOp): string {
  return op.kind === 'append' || op.kind === 'finish' ? op.lease.executionId : op.execution.executionId;
}

export function opRows(op: WriteOp): readonly JournalRow[] {
  return op.kind === 'append' || op.kind === 'finish' ? op.rows : op.execution.rows;
}

/**
 * The statement's 39 parameters: one array per column of each kind of op, and of the journal's
 * table rows (journal-packing.ts: one per write) — whose `data`, most of a batch's bytes, goes as
 * ONE binary parameter (UTF-8, the rows' texts back to back, sliced by byte offset and length in
 * the statement): no array literal to build and escape, no copy of it for the driver to encode.
 */
export function batchParameters(ops: readonly WriteOp[]): unknown[] {
  const fenced: Scalar[][] = [[], [], [], [], [], [], []];
  const saves: Scalar[][] = [[], [], [], [], [], [], [], [], [], [], []];
  const creates: Scalar[][] = [[], [], [], [], [], [], [], [], [], [], [], [], [], []];
  const rows: (string | number | null)[][] = [[], [], [], []];
  const texts: string[] = [];
  const push = (columns: Scalar[][], values: readonly Scalar[]): void => values.forEach((value, i) => columns[i]!.push(value));
  // Keys inserted in one order by every replica: two batches racing two keys wait, never deadlock.
  for (const op of [...ops].sort(byKey)) {
    switch (op.kind) {
      case 'append':
        push(fenced, [op.lease.executionId, op.lease.epoch, op.leaseMs, null, null, null, false]);
        break;
      case 'finish':
        push(fenced, [op.lease.executionId, op.lease.epoch, null, op.summary.status, op.summary.errorCode ?? null, op.summary.recovered ?? null, op.clearState]);
        break;
      case 'save': {
        const e = op.execution;
        push(saves, [e.executionId, e.flow, e.version, e.flowHash, e.tenant, e.parentId ?? null, e.correlationKey ?? null, e.summary.status,
          e.summary.errorCode ?? null, e.summary.recovered ?? null, e.startedAt ?? null]);
        break;
      }
      case 'create': {
        const e = op.execution;
        const running = e.status === 'running';
        push(creates, [e.executionId, e.flow, e.version, e.flowHash, e.tenant, JSON.stringify(e.options), e.parentId ?? null, e.correlationKey ?? null,
          e.status, running ? (e.owner ?? null) : null, e.leaseMs, e.idempotency?.key ?? null, e.idempotency?.fingerprint ?? null, e.idempotency?.ttlMs ?? null]);
        break;
      }
    }
    const executionId = opExecutionId(op);
    for (const row of packRows(opRows(op))) {
      push(rows, [executionId, row.seq, row.type, row.state]);
      texts.push(row.data);
    }
  }
  const [executionIds, seqs, types, state] = rows as [string[], number[], string[], (string | null)[]];
  const { data, offsets, lengths } = utf8Slices(texts);
  return [...[...fenced, ...saves, ...creates].map(sqlArray), textArray(executionIds), sqlArray(seqs), textArray(types), data, sqlArray(offsets), sqlArray(lengths), textArray(state)];
}

/** `texts` encoded back to back in one buffer, with each one's 1-based byte offset and byte length. */
export function utf8Slices(texts: readonly string[]): { data: Buffer; offsets: number[]; lengths: number[] } {
  const lengths = texts.map((text) => Buffer.byteLength(text));
  const data = Buffer.allocUnsafe(lengths.reduce((sum, length) => sum + length, 0));
  const offsets: number[] = [];
  let at = 0;
  for (let i = 0; i < texts.length; i++) {
    offsets.push(at + 1);
    at += data.write(texts[i]!, at);
  }
  return { data, offsets, lengths };
}

/**
 * A `text[]` literal, as the driver would build it from an array, but cheaper: the journal's
 * `state` column (JSON, when a row has one) can be long, and the driver escapes each element
 * with two regular-expression passes. For text without control characters or surrogates, JSON's
 * quoting of a string is exactly the array literal's (`\` and `"` escaped, nothing else), and
 * JSON.stringify's output (what these columns hold) has no control characters; anything else
 * (a surrogate pair too) is escaped as the driver does. Checked against the driver in
 * test/store/postgres-text-array.test.ts.
 */
export function textArray(values: readonly (string | null)[]): string {
  let literal = '{';
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    if (i > 0) literal += ',';
    literal += value === null ? 'NULL' : NEEDS_DRIVER_ESCAPING.test(value) ? `"${value.replace(/[\\"]/g, '\\$&')}"` : JSON.stringify(value);
  }
  return `${literal}}`;
}

/** A value of a batch column. */
type Scalar = string | number | boolean | null | undefined;

/** An array literal of any column (text, numbers, booleans, nulls): each value as its text, quoted as by textArray. */
export function sqlArray(values: readonly Scalar[]): string {
  return textArray(values.map((value) => (value === null || value === undefined ? null : typeof value === 'string' ? value : String(value))));
}

// eslint-disable-next-line no-control-regex -- control characters are exactly what this looks for
const NEEDS_DRIVER_ESCAPING = /[\u0000-\u001f\ud800-\udfff]/;

function byKey(a: WriteOp, b: WriteOp): number {
  const keyA = a.kind === 'create' ? (a.execution.idempotency?.key ?? '') : '';
  const keyB = b.kind === 'create' ? (b.execution.idempotency?.key ?? '') : '';
  return keyA < keyB ? -1 : keyA > keyB ? 1 : 0;
}
