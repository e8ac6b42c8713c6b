/**
 * A flowd 0.1.0 database (schema 0001) with one execution of each kind that matters to the
 * upgrade: ended, failed with a compensation, running (crashed) with checkpoints, queued, and a
 * non-resumable saved one with a correlation key.
 */
import type Database from 'better-sqlite3';
import type pg from 'pg';
import { newExecutionId } from '../../src/engine/ids.js';

const T0 = Date.parse('2025-01-01T00:00:00.000Z');
const iso = (ms: number): string => new Date(T0 + ms).toISOString();
const wrap = (value: unknown): string => JSON.stringify({ v: value });

export const IDS = {
  ended: newExecutionId(T0),
  compensated: newExecutionId(T0 + 10),
  crashed: newExecutionId(T0 + 20),
  queued: newExecutionId(T0 + 30),
  saved: newExecutionId(T0 + 40),
  recovery: newExecutionId(T0 + 50),
} as const;

const base = { errorHandled: false, fallbackExecuted: false, recovered: false };

export const ENDED_RECORD = {
  ...base,
  executionId: IDS.ended,
  flow: 'order',
  version: '2',
  status: 'succeeded',
  input: { order: 1, token: '***' },
  output: { ok: true },
  startedAt: iso(0),
  finishedAt: iso(1000),
  durationMs: 1000,
  requestId: 'req-1',
  phases: [
    { id: 'reserve', kind: 'call', status: 'succeeded', attempts: 1, startedAt: iso(100), finishedAt: iso(300), durationMs: 200, component: 'inventory' },
    { id: 'line', kind: 'call', status: 'succeeded', attempts: 2, index: 0, startedAt: iso(300), finishedAt: iso(500), durationMs: 200 },
    { id: 'route', kind: 'decision', status: 'succeeded', attempts: 0, branch: 'fast', startedAt: iso(500), finishedAt: iso(501), durationMs: 1 },
  ],
};

export const COMPENSATED_RECORD = {
  ...base,
  executionId: IDS.compensated,
  flow: 'payment',
  version: '1',
  status: 'compensated',
  errorHandled: true,
  recovered: false,
  input: { amount: 5 },
  startedAt: iso(10),
  finishedAt: iso(900),
  durationMs: 890,
  phases: [
    { id: 'charge', kind: 'call', status: 'compensated', attempts: 1, startedAt: iso(20), finishedAt: iso(40), durationMs: 20 },
    { id: 'ship', kind: 'call', status: 'failed', attempts: 3, startedAt: iso(40), finishedAt: iso(800), durationMs: 760, error: { code: 'FLOWD_ERR_COMPONENT', message: 'upstream 503', status: 503 } },
  ],
  error: { code: 'FLOWD_ERR_COMPONENT', message: 'phase "ship" failed: upstream 503', phase: 'ship', attempts: 3 },
  compensations: [{ phase: 'charge', status: 'succeeded', attempts: 1, durationMs: 12 }],
  recoveryExecutionId: IDS.recovery,
};

interface OldExecution {
  id: string;
  flow: string;
  status: string;
  resumable: boolean;
  input: string | null;
  options: string | null;
  record: unknown;
  correlationKey?: string;
  createdAt: number;
  finishedAt: number | null;
  lease?: { owner: string; epoch: number; expiresAt: number; attempts: number };
}

function executions(now: number): OldExecution[] {
  return [
    { id: IDS.ended, flow: 'order', status: 'succeeded', resumable: true, input: wrap({ order: 1, token: 'raw-secret' }), options: '{"requestId":"req-1"}', record: ENDED_RECORD, createdAt: T0, finishedAt: T0 + 1000, lease: { owner: 'w', epoch: 1, expiresAt: 0, attempts: 1 } },
    { id: IDS.compensated, flow: 'payment', status: 'compensated', resumable: true, input: wrap({ amount: 5 }), options: '{}', record: COMPENSATED_RECORD, createdAt: T0 + 10, finishedAt: T0 + 900 },
    {
      id: IDS.crashed,
      flow: 'batch',
      status: 'running',
      resumable: true,
      input: wrap({ items: [1, 2] }),
      options: '{"timeoutMs":5000}',
      record: { ...base, executionId: IDS.crashed, flow: 'batch', version: '1', status: 'running', input: { items: [1, 2] }, startedAt: iso(20), phases: [] },
      createdAt: T0 + 20,
      finishedAt: null,
      lease: { owner: 'dead-worker', epoch: 1, expiresAt: T0 + 60_000, attempts: 1 },
    },
    {
      id: IDS.queued,
      flow: 'batch',
      status: 'queued',
      resumable: true,
      input: wrap({ items: [3] }),
      options: '{"callbackUrl":"http://callback.test/done"}',
      record: { ...base, executionId: IDS.queued, flow: 'batch', version: '1', status: 'queued', input: { items: [3] }, startedAt: iso(30), phases: [] },
      createdAt: T0 + 30,
      finishedAt: null,
    },
    {
      id: IDS.saved,
      flow: 'verify',
      status: 'succeeded',
      resumable: false,
      input: wrap({ customer: 'c-1' }),
      options: null,
      correlationKey: 'ck-1',
      record: { ...base, executionId: IDS.saved, flow: 'verify', version: '1', status: 'succeeded', input: { customer: 'c-1' }, output: { verified: true }, correlationKey: 'ck-1', startedAt: new Date(now - 50).toISOString(), finishedAt: new Date(now - 10).toISOString(), durationMs: 40, phases: [] },
      createdAt: now - 50,
      finishedAt: now - 10,
    },
    {
      id: IDS.recovery,
      flow: 'payment-recovery',
      status: 'failed',
      resumable: false,
      input: null,
      options: null,
      record: { ...base, executionId: IDS.recovery, flow: 'payment-recovery', version: '1', status: 'failed', startedAt: iso(850), finishedAt: iso(880), phases: [] },
      createdAt: T0 + 850,
      finishedAt: T0 + 880,
    },
  ];
}

const CHECKPOINTS = [
  { executionId: IDS.ended, key: 'reserve', output: wrap({ id: 'r-1' }), request: null, createdAt: T0 + 300 },
  { executionId: IDS.ended, key: 'line#0', output: wrap([1]), request: null, createdAt: T0 + 500 },
  { executionId: IDS.compensated, key: 'charge', output: wrap({ charged: true }), request: wrap({ method: 'POST', body: { amount: 5 } }), createdAt: T0 + 40 },
  { executionId: IDS.crashed, key: 'fetch', output: wrap({ a: 1 }), request: null, createdAt: T0 + 100 },
  { executionId: IDS.crashed, key: 'each#0', output: wrap('x'), request: wrap({ item: 1 }), createdAt: T0 + 200 },
  // An undefined output: 0.1.0 ran such a phase again, and so does the journal.
  { executionId: IDS.crashed, key: 'each#1', output: '{}', request: null, createdAt: T0 + 300 },
];

const LOGS = [
  { executionId: IDS.ended, entry: { time: iso(200), level: 'info', msg: 'reserved', phase: 'reserve' } },
  { executionId: IDS.ended, entry: { time: iso(900), level: 'warn', msg: 'slow', ms: 700 } },
  { executionId: IDS.crashed, entry: { time: iso(150), level: 'info', msg: 'fetched' } },
];

/** 0.1.0 stored callers' keys as `u:<key>`, flowd's own (triggers) as `t:…`. */
const KEYS = [
  { key: 'u:abc', fingerprint: 'fp-abc', executionId: IDS.ended },
  { key: 'u:local:x', fingerprint: 'fp-x', executionId: IDS.compensated },
  { key: 't:parent:flow:fp', fingerprint: 'fp-t', executionId: IDS.queued },
];

function executionValues(old: OldExecution): unknown[] {
  return [
    old.id, old.flow, '1', 'h1', old.status, old.resumable, old.input, old.options, JSON.stringify(old.record), null, old.correlationKey ?? null, null,
    old.createdAt, old.finishedAt, old.lease?.owner ?? null, old.lease?.epoch ?? 0, old.lease?.expiresAt ?? null, old.lease?.attempts ?? 0, false,
  ];
}

const EXECUTION_COLUMNS = `id, flow, flow_version, flow_hash, status, resumable, input, options, record, parent_id, correlation_key, idempotency_key,
  created_at, finished_at, lease_owner, lease_epoch, lease_expires_at, attempts, cancel_requested`;

export function fillSqlite(db: Database.Database, now: number): void {
  const insert = db.prepare(`INSERT INTO flowd_executions (${EXECUTION_COLUMNS}) VALUES (${Array(19).fill('?').join(', ')})`);
  for (const old of executions(now)) insert.run(...executionValues(old).map((value) => (typeof value === 'boolean' ? Number(value) : value)));
  const checkpoint = db.prepare(`INSERT INTO flowd_checkpoints (execution_id, key, output, request, epoch, created_at) VALUES (?, ?, ?, ?, 1, ?)`);
  for (const c of CHECKPOINTS) checkpoint.run(c.executionId, c.key, c.output, c.request, c.createdAt);
  const log = db.prepare(`INSERT INTO flowd_execution_logs (execution_id, entry) VALUES (?, ?)`);
  for (const line of LOGS) log.run(line.executionId, JSON.stringify(line.entry));
  const key = db.prepare(`INSERT INTO flowd_idempotency_keys (key, fingerprint, execution_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`);
  for (const k of KEYS) key.run(k.key, k.fingerprint, k.executionId, now, now + 3_600_000);
}

export async function fillPostgres(client: pg.ClientBase, now: number): Promise<void> {
  for (const old of executions(now)) {
    await client.query(`INSERT INTO flowd_executions (${EXECUTION_COLUMNS}) VALUES (${Array.from({ length: 19 }, (_, i) => `$${i + 1}`).join(', ')})`, executionValues(old));
  }
  for (const c of CHECKPOINTS) {
    await client.query(`INSERT INTO flowd_checkpoints (execution_id, key, output, request, epoch, created_at) VALUES ($1, $2, $3, $4, 1, $5)`, [c.executionId, c.key, c.output, c.request, c.createdAt]);
  }
  for (const line of LOGS) await client.query(`INSERT INTO flowd_execution_logs (execution_id, entry) VALUES ($1, $2)`, [line.executionId, JSON.stringify(line.entry)]);
  for (const k of KEYS) {
    await client.query(`INSERT INTO flowd_idempotency_keys (key, fingerprint, execution_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`, [k.key, k.fingerprint, k.executionId, now, now + 3_600_000]);
  }
}

/** `count` more queued 0.1.0 executions of flow `bulk` (ids `bulk-00001`…), to cross the conversion's page size. */
export function bulkInsertSql(count: number, database: 'sqlite' | 'postgres'): string {
  const series = database === 'sqlite' ? `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${count}) SELECT i FROM n` : `SELECT i FROM generate_series(1, ${count}) AS i`;
  const id = database === 'sqlite' ? `'bulk-' || substr('0000' || i, -5)` : `'bulk-' || lpad(i::text, 5, '0')`;
  const resumable = database === 'sqlite' ? '1' : 'true';
  const cancel = database === 'sqlite' ? '0' : 'false';
  return `INSERT INTO flowd_executions (${EXECUTION_COLUMNS})
    SELECT ${id}, 'bulk', '1', 'h1', 'queued', ${resumable}, '{"v":{"i":1}}', '{}',
      '{"flow":"bulk","version":"1","status":"queued","startedAt":"2025-01-01T00:00:00.000Z","phases":[]}',
      NULL, NULL, NULL, ${T0}, NULL, NULL, 0, NULL, 0, ${cancel} FROM (${series}) AS s`;
}
