import type { ExecutionStatus } from '../engine/record.js';
import type { ExecutionSummary, JournalRow, StoredOptions } from './execution-store.js';

/** The summary columns both SQL stores select (times are bigint strings in PostgreSQL). */
export const SUMMARY_COLUMNS = 'id, flow, flow_version, flow_hash, status, tenant, parent_id, correlation_key, started_at, finished_at, error_code, recovered';

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
  return summary;
}

export function toOptions(text: string | null): StoredOptions {
  return text === null ? {} : (JSON.parse(text) as StoredOptions);
}

/** A journal row as selected (`seq` is an integer in both databases). */
export function toRow(row: { seq: number; type: string; data: string; state: string | null }): JournalRow {
  return { seq: row.seq, type: row.type, data: row.data, state: row.state };
}

/** The bytes a batch of rows carries (text length: what bounds a statement or a transaction). */
export function rowsSize(rows: readonly JournalRow[]): number {
  let size = 0;
  for (const row of rows) size += row.data.length + (row.state?.length ?? 0) + 64;
  return size;
}

/** How writes are grouped: the bounds of one batch (one transaction in SQLite, one statement in PostgreSQL). */
export interface GroupCommitOptions {
  /** Most journal rows in one batch. Default 2 000. */
  readonly maxRows?: number | undefined;
  /** Most bytes of row text (`data` + `state`) in one batch. Default 4 MiB. A single larger write goes alone. */
  readonly maxBytes?: number | undefined;
  /**
   * PostgreSQL: how long a batch waits for a free pool connection before it is sent anyway (the
   * pool queues it). Default 2 ms. A batch that is full, or finds a free connection, goes at once.
   */
  readonly maxWaitMs?: number | undefined;
}

export const GROUP_COMMIT_DEFAULTS = { maxRows: 2000, maxBytes: 4 * 1024 * 1024, maxWaitMs: 2 } as const;

/** A queued write's weight in a batch. */
export interface Weighed {
  readonly rows: number;
  readonly bytes: number;
}

/**
 * Takes from the head of `queue` what fits one batch (at least one write, so an oversized one goes
 * alone). `admit` may keep a write that fits out of this batch (it stays queued, in its place); it
 * is called only for writes that fit, and each write it admits joins the batch.
 */
export function takeBatch<T extends Weighed>(queue: T[], limits: { maxRows: number; maxBytes: number }, admit: (item: T) => boolean = () => true): T[] {
  const batch: T[] = [];
  const left: T[] = [];
  let rows = 0;
  let bytes = 0;
  let full = false;
  for (const item of queue) {
    if (!full && batch.length > 0 && (rows + item.rows > limits.maxRows || bytes + item.bytes > limits.maxBytes)) full = true;
    if (full || !admit(item)) {
      left.push(item);
      continue;
    }
    batch.push(item);
    rows += item.rows;
    bytes += item.bytes;
  }
  queue.length = 0;
  for (const item of left) queue.push(item);
  return batch;
}
