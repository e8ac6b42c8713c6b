import type { ExecutionStatus } from '../engine/record.js';
import type { ExecutionSummary, StoredOptions } from './execution-store.js';
import type { WaitReason } from './signals/signal-store.js';

/** The summary columns both SQL stores select (times are bigint strings in PostgreSQL). */
export const SUMMARY_COLUMNS = 'id, flow, flow_version, flow_hash, status, tenant, parent_id, correlation_key, started_at, finished_at, error_code, recovered, wake_at, waiting_for';

/** `columns` (a comma-separated list) each prefixed with `alias.`. */
export function qualified(alias: string, columns: string): string {
  return columns.split(', ').map((column) => `${alias}.${column}`).join(', ');
}

export interface SummaryRow {
  id: string;
  flow: string;
  flow_version: string;
  flow_hash: string;
  status: ExecutionStatus;
  tenant: string;
  parent_id: string | null;
  correlation_key: string | null;
  started_at: number | string;
  finished_at: number | string | null;
  error_code: string | null;
  /** 0/1 in SQLite, boolean in PostgreSQL. */
  recovered: number | boolean | null;
  wake_at: number | string | null;
  waiting_for: WaitReason | null;
}

export function toSummary(row: SummaryRow): ExecutionSummary {
  const summary: { -readonly [K in keyof ExecutionSummary]: ExecutionSummary[K] } = {
    executionId: row.id,
    flow: row.flow,
    version: row.flow_version,
    flowHash: row.flow_hash,
    status: row.status,
    tenant: row.tenant,
    startedAt: Number(row.started_at),
  };
  if (row.finished_at !== null) summary.finishedAt = Number(row.finished_at);
  if (row.parent_id !== null) summary.parentId = row.parent_id;
  if (row.correlation_key !== null) summary.correlationKey = row.correlation_key;
  if (row.error_code !== null) summary.errorCode = row.error_code;
  if (row.recovered !== null) summary.recovered = row.recovered === true || row.recovered === 1;
  if (row.status === 'waiting') {
    if (row.wake_at !== null) summary.wakeAt = Number(row.wake_at);
    if (row.waiting_for !== null) summary.waitingFor = row.waiting_for;
  }
  return summary;
}

export function toOptions(text: string | null): StoredOptions {
  return text === null ? {} : (JSON.parse(text) as StoredOptions);
}
