import type { ExecutionRecord, ExecutionStatus } from '../engine/record.js';

/** One structured log line of an execution, as served by `GET /executions/{id}/logs`. */
export interface ExecutionLogEntry {
  time: string;
  level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  msg: string;
  [field: string]: unknown;
}

export interface ExecutionQuery {
  flow?: string | undefined;
  status?: ExecutionStatus | undefined;
  limit: number;
  /** Opaque cursor from a previous page. */
  cursor?: string | undefined;
}

export interface ExecutionPage {
  items: ExecutionRecord[];
  nextCursor?: string | undefined;
}

/** Where execution records and their logs live. Memory today; SQLite and PostgreSQL implement the same. */
export interface ExecutionStore {
  /** Inserts or replaces the record (by executionId). */
  save(record: ExecutionRecord): Promise<void>;
  get(executionId: string): Promise<ExecutionRecord | undefined>;
  /** Newest first. */
  list(query: ExecutionQuery): Promise<ExecutionPage>;
  appendLogs(executionId: string, entries: readonly ExecutionLogEntry[]): Promise<void>;
  /** undefined when the execution is unknown or expired. */
  getLogs(executionId: string): Promise<ExecutionLogEntry[] | undefined>;
  close(): Promise<void>;
}
