import type Database from 'better-sqlite3';
import type pg from 'pg';
import type { JournalRow } from '../execution-store.js';
import { LEGACY_TENANT, convertLegacyExecution, referencedExecutions, type LegacyCheckpoint } from './journal-from-0001.js';

/**
 * Moves 0.1.0 executions (renamed `flowd_executions_0001`, with `flowd_checkpoints` and
 * `flowd_execution_logs`) into the summary and journal tables, a page at a time so memory stays
 * bounded however large the database is. Runs inside the migration's transaction.
 */
const PAGE = 200;
const ROWS_PER_STATEMENT = 2000;

/** An execution row of schema 0001, as both databases return it. */
interface OldRow {
  id: string;
  flow: string;
  flow_version: string;
  flow_hash: string;
  status: string;
  input: string | null;
  options: string | null;
  record: string;
  parent_id: string | null;
  correlation_key: string | null;
  created_at: number | string;
  finished_at: number | string | null;
  lease_owner: string | null;
  lease_epoch: number;
  lease_expires_at: number | string | null;
  attempts: number;
  cancel_requested: number | boolean;
}

interface Page {
  readonly executions: NewSummaryRow[];
  readonly rows: (JournalRow & { executionId: string })[];
}

interface NewSummaryRow {
  id: string;
  flow: string;
  flow_version: string;
  flow_hash: string;
  status: string;
  tenant: string;
  options: string | null;
  parent_id: string | null;
  correlation_key: string | null;
  started_at: number;
  finished_at: number | null;
  error_code: string | null;
  recovered: boolean | null;
  lease_owner: string | null;
  lease_epoch: number;
  lease_expires_at: number | null;
  attempts: number;
  cancel_requested: boolean;
}

const SUMMARY_COLUMNS = [
  'id', 'flow', 'flow_version', 'flow_hash', 'status', 'tenant', 'options', 'parent_id', 'correlation_key', 'started_at', 'finished_at',
  'error_code', 'recovered', 'lease_owner', 'lease_epoch', 'lease_expires_at', 'attempts', 'cancel_requested',
] as const;

const OLD_COLUMNS = `id, flow, flow_version, flow_hash, status, input, options, record, parent_id, correlation_key, created_at, finished_at,
  lease_owner, lease_epoch, lease_expires_at, attempts, cancel_requested`;

function convertPage(
  olds: readonly OldRow[],
  checkpoints: readonly (LegacyCheckpoint & { executionId: string })[],
  logs: readonly { executionId: string; entry: string }[],
  flows: ReadonlyMap<string, string>,
): Page {
  const checkpointsOf = group(checkpoints);
  const logsOf = group(logs);
  const page: Page = { executions: [], rows: [] };
  for (const old of olds) {
    const finishedAt = nullableNumber(old.finished_at);
    const converted = convertLegacyExecution(
      { id: old.id, flowHash: old.flow_hash, status: old.status, input: old.input, options: old.options, record: old.record, createdAt: Number(old.created_at), finishedAt },
      checkpointsOf.get(old.id) ?? [],
      (logsOf.get(old.id) ?? []).map((line) => line.entry),
      (id) => flows.get(id),
    );
    page.executions.push({
      id: old.id,
      flow: old.flow,
      flow_version: old.flow_version,
      flow_hash: old.flow_hash,
      status: old.status,
      tenant: LEGACY_TENANT,
      options: old.options,
      parent_id: old.parent_id,
      correlation_key: old.correlation_key,
      started_at: converted.startedAt,
      finished_at: finishedAt,
      error_code: converted.errorCode ?? null,
      recovered: converted.recovered ?? null,
      lease_owner: old.lease_owner,
      lease_epoch: Number(old.lease_epoch),
      lease_expires_at: nullableNumber(old.lease_expires_at),
      attempts: Number(old.attempts),
      cancel_requested: old.cancel_requested === true || old.cancel_requested === 1,
    });
    for (const row of converted.rows) page.rows.push({ ...row, executionId: old.id });
  }
  return page;
}

export function convertSqlite(db: Database.Database): void {
  const select = db.prepare(`SELECT ${OLD_COLUMNS} FROM flowd_executions_0001 WHERE id > ? ORDER BY id LIMIT ${PAGE}`);
  const inPage = `IN (SELECT value FROM json_each(?))`;
  const checkpoints = db.prepare(
    `SELECT execution_id AS executionId, key, output, request, created_at AS createdAt FROM flowd_checkpoints WHERE execution_id ${inPage}`,
  );
  const logs = db.prepare(`SELECT execution_id AS executionId, entry FROM flowd_execution_logs WHERE execution_id ${inPage} ORDER BY id`);
  const flows = db.prepare(`SELECT id, flow FROM flowd_executions_0001 WHERE id ${inPage}`);
  const insertSummary = db.prepare(
    `INSERT INTO flowd_executions (${SUMMARY_COLUMNS.join(', ')}) VALUES (${SUMMARY_COLUMNS.map((column) => `@${column}`).join(', ')})`,
  );
  const insertRow = db.prepare(`INSERT INTO flowd_journal (execution_id, seq, type, data, state) VALUES (?, ?, ?, ?, ?)`);
  for (let after = ''; ; ) {
    const olds = select.all(after) as OldRow[];
    if (olds.length === 0) return;
    const ids = JSON.stringify(olds.map((old) => old.id));
    const named = JSON.stringify(olds.flatMap((old) => referencedExecutions(old.record)));
    const page = convertPage(
      olds,
      checkpoints.all(ids) as (LegacyCheckpoint & { executionId: string })[],
      logs.all(ids) as { executionId: string; entry: string }[],
      new Map((flows.all(named) as { id: string; flow: string }[]).map((row) => [row.id, row.flow])),
    );
    for (const summary of page.executions) {
      insertSummary.run({ ...summary, recovered: summary.recovered === null ? null : Number(summary.recovered), cancel_requested: Number(summary.cancel_requested) });
    }
    for (const row of page.rows) insertRow.run(row.executionId, row.seq, row.type, row.data, row.state);
    after = olds[olds.length - 1]!.id;
  }
}

export async function convertPostgres(client: pg.ClientBase): Promise<void> {
  const types: Record<(typeof SUMMARY_COLUMNS)[number], string> = {
    id: 'text', flow: 'text', flow_version: 'text', flow_hash: 'text', status: 'text', tenant: 'text', options: 'text', parent_id: 'text',
    correlation_key: 'text', started_at: 'bigint', finished_at: 'bigint', error_code: 'text', recovered: 'boolean', lease_owner: 'text',
    lease_epoch: 'integer', lease_expires_at: 'bigint', attempts: 'integer', cancel_requested: 'boolean',
  };
  const insertSummaries = `INSERT INTO flowd_executions (${SUMMARY_COLUMNS.join(', ')})
    SELECT * FROM unnest(${SUMMARY_COLUMNS.map((column, i) => `$${i + 1}::${types[column]}[]`).join(', ')})`;
  for (let after = ''; ; ) {
    const olds = (await client.query<OldRow>(`SELECT ${OLD_COLUMNS} FROM flowd_executions_0001 WHERE id > $1 ORDER BY id LIMIT ${PAGE}`, [after])).rows;
    if (olds.length === 0) return;
    const ids = olds.map((old) => old.id);
    const checkpoints = await client.query<LegacyCheckpoint & { executionId: string; createdAt: string }>(
      `SELECT execution_id AS "executionId", key, output, request, created_at AS "createdAt" FROM flowd_checkpoints WHERE execution_id = ANY($1::text[])`,
      [ids],
    );
    const logs = await client.query<{ executionId: string; entry: string }>(
      `SELECT execution_id AS "executionId", entry FROM flowd_execution_logs WHERE execution_id = ANY($1::text[]) ORDER BY id`,
      [ids],
    );
    const flows = await client.query<{ id: string; flow: string }>(`SELECT id, flow FROM flowd_executions_0001 WHERE id = ANY($1::text[])`, [
      olds.flatMap((old) => referencedExecutions(old.record)),
    ]);
    const page = convertPage(
      olds,
      checkpoints.rows.map((checkpoint) => ({ ...checkpoint, createdAt: Number(checkpoint.createdAt) })),
      logs.rows,
      new Map(flows.rows.map((row) => [row.id, row.flow])),
    );
    await client.query(
      insertSummaries,
      SUMMARY_COLUMNS.map((column) => page.executions.map((summary) => summary[column])),
    );
    // Statements of bounded size: a page may hold up to 500 log lines per execution (0.1.0's cap).
    for (let start = 0; start < page.rows.length; start += ROWS_PER_STATEMENT) {
      const rows = page.rows.slice(start, start + ROWS_PER_STATEMENT);
      await client.query(
        `INSERT INTO flowd_journal (execution_id, seq, type, data, state) SELECT * FROM unnest($1::text[], $2::integer[], $3::text[], $4::text[], $5::text[])`,
        [rows.map((row) => row.executionId), rows.map((row) => row.seq), rows.map((row) => row.type), rows.map((row) => row.data), rows.map((row) => row.state)],
      );
    }
    after = olds[olds.length - 1]!.id;
  }
}

function group<T extends { executionId: string }>(items: readonly T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const list = groups.get(item.executionId);
    if (list === undefined) groups.set(item.executionId, [item]);
    else list.push(item);
  }
  return groups;
}

function nullableNumber(value: number | string | null): number | null {
  return value === null ? null : Number(value);
}
