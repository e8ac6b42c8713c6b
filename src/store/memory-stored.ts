import type { ExecutionStatus } from '../engine/record.js';
import type { ExecutionSummary, JournalRow, Lease, NewExecution, StoredOptions } from './execution-store.js';
import type { MemoryExecutionView } from './signals/memory-signals.js';

/** One execution as the memory store keeps it, and the row and queue rules the store applies to it. */
export interface Stored {
  summary: {
    -readonly [K in keyof ExecutionSummary]: ExecutionSummary[K];
  };
  options: StoredOptions;
  /** By seq: a retried append finds its rows already here. */
  rows: Map<number, JournalRow>;
  leaseOwner: string | undefined;
  leaseEpoch: number;
  leaseExpiresAt: number | undefined;
  attempts: number;
  cancelRequested: boolean;
  waitingSignal?: string | undefined;
}

/** What a Stored is to its signal store: status, epoch and wake time, read and written live. */
export function signalView(stored: Stored): MemoryExecutionView {
  return {
    get waitingSignal() { return stored.waitingSignal; },
    get status() { return stored.summary.status; },
    get leaseEpoch() { return stored.leaseEpoch; },
    get wakeAt() { return stored.summary.wakeAt; },
    set wakeAt(value: number | undefined) { stored.summary.wakeAt = value; },
  };
}

export function summaryOf(
  execution: Pick<NewExecution, 'executionId' | 'flow' | 'version' | 'flowHash' | 'tenant' | 'parentId' | 'correlationKey'>,
  status: ExecutionStatus,
  startedAt: number,
): Stored['summary'] {
  return {
    executionId: execution.executionId,
    flow: execution.flow,
    version: execution.version,
    flowHash: execution.flowHash,
    status,
    tenant: execution.tenant,
    startedAt,
    finishedAt: undefined,
    parentId: execution.parentId,
    correlationKey: execution.correlationKey,
    errorCode: undefined,
    recovered: undefined,
  };
}

export function rowMap(rows: readonly JournalRow[]): Map<number, JournalRow> {
  return new Map(rows.map((row) => [row.seq, { ...row }]));
}

export function addRows(stored: Stored, rows: readonly JournalRow[], clearState: boolean): void {
  for (const row of rows) if (!stored.rows.has(row.seq)) stored.rows.set(row.seq, { ...row });
  if (clearState) for (const [seq, row] of stored.rows) if (row.state !== null) stored.rows.set(seq, { ...row, state: null });
}

export function rowsOf(stored: Stored, withState: boolean): JournalRow[] {
  const rows = [...stored.rows.values()].sort((a, b) => a.seq - b.seq);
  return withState ? rows.map((row) => ({ ...row })) : rows.map((row) => ({ ...row, state: null }));
}

export function claimable(stored: Stored, now: number): boolean {
  const status = stored.summary.status;
  if (status === 'waiting') return stored.summary.wakeAt !== undefined && stored.summary.wakeAt <= now;
  return status === 'queued' || (status === 'running' && stored.leaseExpiresAt !== undefined && stored.leaseExpiresAt < now);
}

export function holds(stored: Stored, lease: Lease): boolean {
  return stored.summary.status === 'running' && stored.leaseEpoch === lease.epoch;
}

/** Each tenant's oldest first, then each tenant's second…; by id within a round. */
export function fairOrder(candidates: readonly Stored[]): Stored[] {
  const byId = [...candidates].sort((a, b) => (a.summary.executionId < b.summary.executionId ? -1 : 1));
  const rank = new Map<string, number>();
  const ranked = byId.map((stored) => {
    const position = rank.get(stored.summary.tenant) ?? 0;
    rank.set(stored.summary.tenant, position + 1);
    return { stored, position };
  });
  ranked.sort((a, b) => a.position - b.position || (a.stored.summary.executionId < b.stored.summary.executionId ? -1 : 1));
  return ranked.map((entry) => entry.stored);
}
