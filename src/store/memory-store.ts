import { LeaseLostError } from '../errors.js';
import type { ExecutionRecord, ExecutionStatus } from '../engine/record.js';
import {
  MAX_LOG_ENTRIES_PER_EXECUTION,
  TERMINAL,
  decodeValue,
  encodeValue,
  flowKeyString,
  type CancelOutcome,
  type ClaimRequest,
  type ClaimedExecution,
  type CreateResult,
  type ExecutionLogEntry,
  type ExecutionPage,
  type ExecutionQuery,
  type ExecutionStore,
  type FlowKey,
  type HeartbeatResult,
  type Lease,
  type NewExecution,
  type PendingDefinition,
  type StoredOptions,
  type StoredPhaseOutputs,
} from './execution-store.js';

export { MAX_LOG_ENTRIES_PER_EXECUTION } from './execution-store.js';

const TERMINAL_SET: ReadonlySet<string> = new Set(TERMINAL);

interface Row {
  id: string;
  flow: string;
  flowHash: string;
  status: ExecutionStatus;
  resumable: boolean;
  input: unknown;
  options: StoredOptions;
  /** JSON of the record: a snapshot, never the live object. */
  record: string;
  parentId: string | undefined;
  correlationKey: string | undefined;
  finishedAt: number | undefined;
  leaseOwner: string | undefined;
  leaseEpoch: number;
  leaseExpiresAt: number | undefined;
  attempts: number;
  cancelRequested: boolean;
  checkpoints: Map<string, { output: string; request: string | undefined }>;
  logs: ExecutionLogEntry[];
}

/**
 * The store contract in process memory: same semantics as SQLite and PostgreSQL (leases, epochs,
 * idempotency, queue), lost on restart. Bounded by count: the oldest ended executions are evicted.
 */
export class MemoryExecutionStore implements ExecutionStore {
  readonly kind = 'memory' as const;
  readonly durable = false;
  readonly #rows = new Map<string, Row>();
  readonly #keys = new Map<string, { fingerprint: string; executionId: string; expiresAt: number }>();
  readonly #max: number;
  readonly #clock: () => number;

  constructor(options: { maxExecutions: number; clock?: () => number }) {
    this.#max = options.maxExecutions;
    this.#clock = options.clock ?? Date.now;
  }

  async save(record: ExecutionRecord, meta: { flowHash?: string | undefined } = {}): Promise<void> {
    const existing = this.#rows.get(record.executionId);
    if (existing?.resumable === true) return;
    const snapshot = JSON.stringify(record);
    if (existing !== undefined) {
      existing.record = snapshot;
      existing.status = record.status;
      existing.finishedAt = TERMINAL_SET.has(record.status) ? this.#clock() : undefined;
      existing.correlationKey = record.correlationKey;
      return;
    }
    const row = blankRow(record, meta.flowHash ?? '', snapshot);
    row.finishedAt = TERMINAL_SET.has(record.status) ? this.#clock() : undefined;
    this.#insert(row);
  }

  async get(executionId: string): Promise<ExecutionRecord | undefined> {
    const row = this.#rows.get(executionId);
    return row === undefined ? undefined : toRecord(row);
  }

  async list(query: ExecutionQuery): Promise<ExecutionPage> {
    // Execution ids are UUIDv7: sorting them sorts by start time.
    const matching = [...this.#rows.values()]
      .filter((row) => (query.flow === undefined || row.flow === query.flow) && (query.status === undefined || row.status === query.status))
      .filter((row) => query.cursor === undefined || row.id < query.cursor)
      .sort((a, b) => (a.id < b.id ? 1 : -1));
    const page = matching.slice(0, query.limit).map(toRecord);
    return matching.length > query.limit ? { items: page, nextCursor: page[page.length - 1]!.executionId } : { items: page };
  }

  async appendLogs(executionId: string, entries: readonly ExecutionLogEntry[]): Promise<void> {
    const row = this.#rows.get(executionId);
    if (row === undefined) return;
    const room = MAX_LOG_ENTRIES_PER_EXECUTION - row.logs.length;
    if (room > 0) row.logs.push(...entries.slice(0, room));
  }

  async getLogs(executionId: string): Promise<ExecutionLogEntry[] | undefined> {
    return this.#rows.get(executionId)?.logs.slice();
  }

  async close(): Promise<void> {
    this.#rows.clear();
    this.#keys.clear();
  }

  async now(): Promise<number> {
    return this.#clock();
  }

  async create(execution: NewExecution): Promise<CreateResult> {
    const now = this.#clock();
    if (execution.idempotency !== undefined) {
      const taken = this.#keys.get(execution.idempotency.key);
      if (taken !== undefined && taken.expiresAt > now) {
        return { created: false, executionId: taken.executionId, fingerprint: taken.fingerprint };
      }
      this.#keys.set(execution.idempotency.key, {
        fingerprint: execution.idempotency.fingerprint,
        executionId: execution.executionId,
        expiresAt: now + execution.idempotency.ttlMs,
      });
    }
    const running = execution.status === 'running';
    this.#insert({
      ...blankRow(execution.record, execution.flowHash),
      flow: execution.flow,
      status: execution.status,
      resumable: true,
      input: execution.input,
      options: execution.options,
      parentId: execution.parentId,
      correlationKey: execution.options.correlationKey,
      leaseOwner: running ? execution.owner : undefined,
      leaseEpoch: running ? 1 : 0,
      leaseExpiresAt: running ? now + execution.leaseMs : undefined,
      attempts: running ? 1 : 0,
    });
    return { created: true, lease: running ? { executionId: execution.executionId, owner: execution.owner!, epoch: 1 } : undefined };
  }

  async claim(request: ClaimRequest): Promise<ClaimedExecution[]> {
    const now = this.#clock();
    const known = new Set(request.flows.map((flow) => flowKeyString(flow.name, flow.hash)));
    const claimed: ClaimedExecution[] = [];
    const candidates = [...this.#rows.values()].filter((row) => row.resumable && known.has(flowKeyString(row.flow, row.flowHash)) && claimable(row, now));
    candidates.sort((a, b) => (a.id < b.id ? -1 : 1));
    for (const row of candidates.slice(0, request.limit)) {
      row.status = 'running';
      row.leaseOwner = request.owner;
      row.leaseEpoch += 1;
      row.leaseExpiresAt = now + request.leaseMs;
      row.attempts += 1;
      const checkpoints = new Map<string, unknown>();
      const requests = new Map<string, unknown>();
      for (const [key, value] of row.checkpoints) {
        checkpoints.set(key, decodeValue(value.output));
        if (value.request !== undefined) requests.set(key, decodeValue(value.request));
      }
      claimed.push({
        lease: { executionId: row.id, owner: request.owner, epoch: row.leaseEpoch },
        flow: row.flow,
        flowHash: row.flowHash,
        input: structuredClone(row.input),
        options: { ...row.options },
        parentId: row.parentId,
        attempts: row.attempts,
        cancelRequested: row.cancelRequested,
        record: toRecord(row),
        checkpoints,
        compensationRequests: requests,
      });
    }
    return claimed;
  }

  async heartbeat(owner: string, leases: readonly Lease[], leaseMs: number): Promise<HeartbeatResult> {
    const now = this.#clock();
    const lost: string[] = [];
    const cancelRequested: string[] = [];
    for (const lease of leases) {
      const row = this.#rows.get(lease.executionId);
      if (row === undefined || !holds(row, lease) || row.leaseOwner !== owner) {
        lost.push(lease.executionId);
        continue;
      }
      row.leaseExpiresAt = now + leaseMs;
      if (row.cancelRequested) cancelRequested.push(row.id);
    }
    return { lost, cancelRequested };
  }

  async checkpoint(lease: Lease, key: string, output: unknown, request: unknown, leaseMs: number): Promise<void> {
    const row = this.#rows.get(lease.executionId);
    if (row === undefined || !holds(row, lease)) throw new LeaseLostError(`checkpoint "${key}" refused: execution ${lease.executionId} is no longer held at epoch ${lease.epoch}`);
    row.checkpoints.set(key, { output: encodeValue(output), request: request === undefined ? undefined : encodeValue(request) });
    row.leaseExpiresAt = Math.max(row.leaseExpiresAt ?? 0, this.#clock() + leaseMs);
  }

  async finish(lease: Lease, record: ExecutionRecord): Promise<void> {
    const row = this.#rows.get(lease.executionId);
    if (row === undefined || !holds(row, lease)) throw new LeaseLostError(`final write refused: execution ${lease.executionId} is no longer held at epoch ${lease.epoch}`);
    row.status = record.status;
    row.record = JSON.stringify(record);
    row.finishedAt = this.#clock();
    row.leaseOwner = undefined;
    row.leaseExpiresAt = undefined;
    row.correlationKey = record.correlationKey;
    this.#evict();
  }

  async release(leases: readonly Lease[]): Promise<void> {
    for (const lease of leases) {
      const row = this.#rows.get(lease.executionId);
      if (row !== undefined && holds(row, lease)) row.leaseExpiresAt = 0;
    }
  }

  async cancel(executionId: string, update: (current: ExecutionRecord) => ExecutionRecord): Promise<CancelOutcome> {
    const row = this.#rows.get(executionId);
    if (row === undefined) return 'not_found';
    if (TERMINAL_SET.has(row.status)) return 'terminal';
    if (row.status === 'queued') {
      const record = update(toRecord(row));
      row.status = record.status;
      row.record = JSON.stringify(record);
      row.finishedAt = this.#clock();
      return 'cancelled';
    }
    row.cancelRequested = true;
    return 'requested';
  }

  async findSucceeded(flow: string, correlationKey: string | undefined, withinMs: number): Promise<ExecutionRecord | undefined> {
    const since = this.#clock() - withinMs;
    let best: Row | undefined;
    for (const row of this.#rows.values()) {
      if (row.flow !== flow || row.status !== 'succeeded' || row.finishedAt === undefined || row.finishedAt < since) continue;
      if (correlationKey !== undefined && row.correlationKey !== correlationKey) continue;
      if (best === undefined || row.finishedAt > best.finishedAt! || (row.finishedAt === best.finishedAt && row.id > best.id)) best = row;
    }
    return best === undefined ? undefined : toRecord(best);
  }

  async purge(olderThanMs: number, batchSize: number): Promise<number> {
    const now = this.#clock();
    const cutoff = now - olderThanMs;
    let removed = 0;
    for (const row of [...this.#rows.values()]) {
      if (removed >= batchSize) break;
      if (row.finishedAt !== undefined && row.finishedAt < cutoff && TERMINAL_SET.has(row.status)) {
        this.#rows.delete(row.id);
        removed += 1;
      }
    }
    let keys = 0;
    for (const [key, value] of [...this.#keys]) {
      if (keys >= batchSize) break;
      if (value.expiresAt <= now || !this.#rows.has(value.executionId)) {
        this.#keys.delete(key);
        keys += 1;
      }
    }
    return removed + keys;
  }

  async pendingElsewhere(flows: readonly FlowKey[]): Promise<PendingDefinition[]> {
    const now = this.#clock();
    const known = new Set(flows.map((flow) => flowKeyString(flow.name, flow.hash)));
    const counts = new Map<string, PendingDefinition>();
    for (const row of this.#rows.values()) {
      if (!row.resumable || !claimable(row, now) || known.has(flowKeyString(row.flow, row.flowHash))) continue;
      const key = flowKeyString(row.flow, row.flowHash);
      const entry = counts.get(key);
      counts.set(key, { flow: row.flow, flowHash: row.flowHash, count: (entry?.count ?? 0) + 1 });
    }
    return [...counts.values()];
  }

  async getCheckpoints(executionId: string): Promise<StoredPhaseOutputs | undefined> {
    const row = this.#rows.get(executionId);
    if (row === undefined || row.checkpoints.size === 0) return undefined;
    const checkpoints = new Map<string, unknown>();
    const compensationRequests = new Map<string, unknown>();
    for (const [key, value] of row.checkpoints) {
      checkpoints.set(key, decodeValue(value.output));
      if (value.request !== undefined) compensationRequests.set(key, decodeValue(value.request));
    }
    return { checkpoints, compensationRequests };
  }

  #insert(row: Row): void {
    this.#rows.set(row.id, row);
    this.#evict();
  }

  /** Over the bound, drop the oldest ended executions (never queued or running ones). */
  #evict(): void {
    if (this.#rows.size <= this.#max) return;
    for (const row of this.#rows.values()) {
      if (this.#rows.size <= this.#max) break;
      if (TERMINAL_SET.has(row.status)) this.#rows.delete(row.id);
    }
  }
}

function blankRow(record: ExecutionRecord, flowHash: string, snapshot = JSON.stringify(record)): Row {
  return {
    id: record.executionId,
    flow: record.flow,
    flowHash,
    status: record.status,
    resumable: false,
    input: record.input,
    options: {},
    record: snapshot,
    parentId: record.parentId,
    correlationKey: record.correlationKey,
    finishedAt: undefined,
    leaseOwner: undefined,
    leaseEpoch: 0,
    leaseExpiresAt: undefined,
    attempts: 0,
    cancelRequested: false,
    checkpoints: new Map(),
    logs: [],
  };
}

function claimable(row: Row, now: number): boolean {
  return row.status === 'queued' || (row.status === 'running' && (row.leaseExpiresAt ?? 0) < now);
}

function holds(row: Row, lease: Lease): boolean {
  return row.status === 'running' && row.leaseEpoch === lease.epoch;
}

function toRecord(row: Row): ExecutionRecord {
  const record = JSON.parse(row.record) as ExecutionRecord;
  record.status = row.status;
  return record;
}
