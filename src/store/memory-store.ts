import { LRUCache } from 'lru-cache';
import type { ExecutionRecord } from '../engine/record.js';
import type { ExecutionLogEntry, ExecutionPage, ExecutionQuery, ExecutionStore } from './execution-store.js';

export const MAX_LOG_ENTRIES_PER_EXECUTION = 500;

interface Entry {
  record: ExecutionRecord;
  logs: ExecutionLogEntry[];
}

/**
 * Keeps the most recent executions in memory, bounded by count (the oldest are evicted).
 * Lost on restart: the durable stores exist for that.
 */
export class MemoryExecutionStore implements ExecutionStore {
  readonly #entries: LRUCache<string, Entry>;

  constructor(options: { maxExecutions: number }) {
    this.#entries = new LRUCache({ max: options.maxExecutions });
  }

  async save(record: ExecutionRecord): Promise<void> {
    const existing = this.#entries.peek(record.executionId);
    if (existing === undefined) this.#entries.set(record.executionId, { record, logs: [] });
    else existing.record = record;
  }

  async get(executionId: string): Promise<ExecutionRecord | undefined> {
    return this.#entries.peek(executionId)?.record;
  }

  async list(query: ExecutionQuery): Promise<ExecutionPage> {
    // Execution ids are UUIDv7: sorting them sorts by start time.
    const all = [...this.#entries.values()]
      .map((entry) => entry.record)
      .filter((record) => (query.flow === undefined || record.flow === query.flow) && (query.status === undefined || record.status === query.status))
      .sort((a, b) => (a.executionId < b.executionId ? 1 : -1));
    const start = query.cursor === undefined ? 0 : all.findIndex((record) => record.executionId < query.cursor!);
    if (start < 0) return { items: [] };
    const items = all.slice(start, start + query.limit);
    const more = all.length > start + query.limit;
    return more ? { items, nextCursor: items[items.length - 1]!.executionId } : { items };
  }

  async appendLogs(executionId: string, entries: readonly ExecutionLogEntry[]): Promise<void> {
    const entry = this.#entries.peek(executionId);
    if (entry === undefined) return;
    const room = MAX_LOG_ENTRIES_PER_EXECUTION - entry.logs.length;
    if (room > 0) entry.logs.push(...entries.slice(0, room));
  }

  async getLogs(executionId: string): Promise<ExecutionLogEntry[] | undefined> {
    return this.#entries.peek(executionId)?.logs;
  }

  async close(): Promise<void> {
    this.#entries.clear();
  }
}
