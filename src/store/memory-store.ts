import {
  TERMINAL,
  flowKeyString,
  lostLease,
  type CancelOutcome,
  type ClaimRequest,
  type ClaimedExecution,
  type CreateResult,
  type ExecutionPage,
  type ExecutionQuery,
  type ExecutionStore,
  type ExecutionSummary,
  type FinishedSummary,
  type FlowKey,
  type HeartbeatResult,
  type JournalRow,
  type Lease,
  type NewExecution,
  type PendingDefinition,
  type SavedExecution,
  type StoredExecution,
  type SucceededQuery,
} from './execution-store.js';
import { MemorySignals } from './signals/memory-signals.js';
import { addRows, claimable, fairOrder, holds, rowMap, rowsOf, signalView, summaryOf, type Stored } from './memory-stored.js';
import type { Suspension, WaitingCount } from './signals/signal-store.js';

const TERMINAL_SET: ReadonlySet<string> = new Set(TERMINAL);

/**
 * The store contract in process memory: same semantics as SQLite and PostgreSQL (leases, epochs,
 * idempotency, queue, fair claims), lost on restart. Bounded by count: over `maxExecutions`, the
 * oldest ended executions are evicted (never queued or running ones).
 */
export class MemoryExecutionStore implements ExecutionStore {
  readonly kind = 'memory' as const;
  readonly durable = false;
  readonly #executions = new Map<string, Stored>();
  readonly #keys = new Map<string, { fingerprint: string; executionId: string; expiresAt: number }>();
  readonly #max: number;
  readonly #clock: () => number;
  readonly signals: MemorySignals;

  constructor(options: { maxExecutions: number; clock?: () => number }) {
    this.#max = options.maxExecutions;
    this.#clock = options.clock ?? Date.now;
    this.signals = new MemorySignals((id) => {
      const stored = this.#executions.get(id);
      return stored === undefined ? undefined : signalView(stored);
    }, () => this.#clock());
  }

  async now(): Promise<number> {
    return this.#clock();
  }

  async create(execution: NewExecution): Promise<CreateResult> {
    const now = this.#clock();
    const key = execution.idempotency;
    if (key !== undefined) {
      const taken = this.#keys.get(key.key);
      if (taken !== undefined && taken.expiresAt > now) return { created: false, executionId: taken.executionId, fingerprint: taken.fingerprint };
    }
    if (this.#executions.has(execution.executionId)) throw new Error(`execution ${execution.executionId} exists already`);
    if (key !== undefined) this.#keys.set(key.key, { fingerprint: key.fingerprint, executionId: execution.executionId, expiresAt: now + key.ttlMs });
    const running = execution.status === 'running';
    this.#insert({
      summary: summaryOf(execution, execution.status, now),
      options: { ...execution.options },
      rows: rowMap(execution.rows),
      leaseOwner: running ? execution.owner : undefined,
      leaseEpoch: running ? 1 : 0,
      leaseExpiresAt: running ? now + execution.leaseMs : undefined,
      attempts: running ? 1 : 0,
      cancelRequested: false,
    });
    return { created: true, lease: running ? { executionId: execution.executionId, owner: execution.owner!, epoch: 1 } : undefined };
  }

  async append(lease: Lease, rows: readonly JournalRow[], leaseMs: number): Promise<void> {
    const stored = this.#held(lease, 'append');
    addRows(stored, rows, false);
    const now = this.#clock();
    if ((stored.leaseExpiresAt ?? 0) < now + leaseMs / 2) stored.leaseExpiresAt = now + leaseMs;
  }

  async finish(lease: Lease, rows: readonly JournalRow[], summary: FinishedSummary, options: { clearState?: boolean } = {}): Promise<void> {
    const stored = this.#held(lease, 'final write');
    addRows(stored, rows, options.clearState === true);
    this.#end(stored, summary);
    stored.leaseOwner = undefined;
    stored.leaseExpiresAt = undefined;
    this.#evict();
  }

  async suspend(lease: Lease, rows: readonly JournalRow[], suspension: Suspension): Promise<void> {
    const stored = this.#held(lease, 'suspension');
    addRows(stored, rows, false);
    stored.summary.status = 'waiting';
    stored.summary.waitingFor = suspension.waitingFor;
    stored.waitingSignal = suspension.signal;
    stored.summary.wakeAt = this.signals.pending(lease.executionId, suspension.signal) || stored.cancelRequested ? this.#clock() : suspension.wakeAt;
    // A run that reached a wait ended well: claims after it start counting again (EXECUTION_MAX_ATTEMPTS counts runs that died).
    stored.attempts = 0;
    stored.leaseOwner = undefined;
    stored.leaseExpiresAt = undefined;
  }

  async countWaiting(): Promise<WaitingCount[]> {
    const counts = new Map<string, WaitingCount>();
    for (const { summary } of this.#executions.values()) {
      if (summary.status !== 'waiting' || summary.waitingFor === undefined) continue;
      const key = `${summary.flow}\u0000${summary.waitingFor}`;
      counts.set(key, { flow: summary.flow, waitingFor: summary.waitingFor, count: (counts.get(key)?.count ?? 0) + 1 });
    }
    return [...counts.values()];
  }

  async save(execution: SavedExecution): Promise<void> {
    if (this.#executions.has(execution.executionId)) return;
    const now = this.#clock();
    const stored: Stored = {
      summary: summaryOf(execution, execution.summary.status, execution.startedAt ?? now),
      options: {},
      rows: rowMap(execution.rows),
      leaseOwner: undefined,
      leaseEpoch: 0,
      leaseExpiresAt: undefined,
      attempts: 0,
      cancelRequested: false,
    };
    this.#end(stored, execution.summary);
    this.#insert(stored);
  }

  async get(executionId: string, options: { withState?: boolean } = {}): Promise<StoredExecution | undefined> {
    const stored = this.#executions.get(executionId);
    if (stored === undefined) return undefined;
    return { summary: { ...stored.summary }, options: { ...stored.options }, rows: rowsOf(stored, options.withState === true) };
  }

  async list(query: ExecutionQuery): Promise<ExecutionPage> {
    // Execution ids are UUIDv7: sorting them sorts by start time.
    const matching: ExecutionSummary[] = [];
    for (const { summary } of this.#executions.values()) {
      if (query.flow !== undefined && summary.flow !== query.flow) continue;
      if (query.status !== undefined && summary.status !== query.status) continue;
      if (query.tenant !== undefined && summary.tenant !== query.tenant) continue;
      if (query.cursor !== undefined && summary.executionId >= query.cursor) continue;
      matching.push(summary);
    }
    matching.sort((a, b) => (a.executionId < b.executionId ? 1 : -1));
    const items = matching.slice(0, query.limit).map((summary) => ({ ...summary }));
    return matching.length > query.limit ? { items, nextCursor: items[items.length - 1]!.executionId } : { items };
  }

  async claim(request: ClaimRequest): Promise<ClaimedExecution[]> {
    const now = this.#clock();
    const known = new Set(request.flows.map((flow) => flowKeyString(flow.name, flow.hash)));
    const candidates = [...this.#executions.values()].filter(
      (stored) => claimable(stored, now) && known.has(flowKeyString(stored.summary.flow, stored.summary.flowHash)),
    );
    const claimed: ClaimedExecution[] = [];
    for (const stored of fairOrder(candidates).slice(0, Math.max(0, request.limit))) {
      stored.summary.status = 'running';
      stored.summary.wakeAt = undefined;
      stored.summary.waitingFor = stored.waitingSignal = undefined;
      stored.leaseOwner = request.owner;
      stored.leaseEpoch += 1;
      stored.leaseExpiresAt = now + request.leaseMs;
      stored.attempts += 1;
      claimed.push({
        lease: { executionId: stored.summary.executionId, owner: request.owner, epoch: stored.leaseEpoch },
        summary: { ...stored.summary },
        options: { ...stored.options },
        attempts: stored.attempts,
        cancelRequested: stored.cancelRequested,
        rows: rowsOf(stored, true),
      });
    }
    return claimed;
  }

  async heartbeat(owner: string, leases: readonly Lease[], leaseMs: number): Promise<HeartbeatResult> {
    const now = this.#clock();
    const lost: string[] = [];
    const cancelRequested: string[] = [];
    for (const lease of leases) {
      const stored = this.#executions.get(lease.executionId);
      if (stored === undefined || !holds(stored, lease) || stored.leaseOwner !== owner) {
        lost.push(lease.executionId);
        continue;
      }
      stored.leaseExpiresAt = now + leaseMs;
      if (stored.cancelRequested) cancelRequested.push(lease.executionId);
    }
    return { lost, cancelRequested };
  }

  async release(leases: readonly Lease[]): Promise<void> {
    for (const lease of leases) {
      const stored = this.#executions.get(lease.executionId);
      if (stored !== undefined && holds(stored, lease)) stored.leaseExpiresAt = 0;
    }
  }

  async cancel(executionId: string, rows: readonly JournalRow[], summary: FinishedSummary): Promise<CancelOutcome> {
    const stored = this.#executions.get(executionId);
    if (stored === undefined) return 'not_found';
    if (TERMINAL_SET.has(stored.summary.status)) return 'terminal';
    if (stored.summary.status === 'queued') {
      addRows(stored, rows, false);
      this.#end(stored, summary);
      return 'cancelled';
    }
    stored.cancelRequested = true;
    if (stored.summary.status === 'waiting') stored.summary.wakeAt = this.#clock();
    return 'requested';
  }

  async countQueued(tenant?: string): Promise<number> {
    let count = 0;
    for (const { summary } of this.#executions.values()) {
      if (summary.status === 'queued' && (tenant === undefined || summary.tenant === tenant)) count += 1;
    }
    return count;
  }

  async countWaitingOf(tenant: string): Promise<number> {
    let count = 0;
    for (const { summary } of this.#executions.values()) if (summary.status === 'waiting' && summary.tenant === tenant) count += 1;
    return count;
  }

  async findIdempotencyKey(key: string): Promise<{ executionId: string; fingerprint: string } | undefined> {
    const taken = this.#keys.get(key);
    return taken !== undefined && taken.expiresAt > this.#clock() ? { executionId: taken.executionId, fingerprint: taken.fingerprint } : undefined;
  }

  async findSucceeded(query: SucceededQuery): Promise<{ executionId: string; finished: JournalRow } | undefined> {
    const since = this.#clock() - query.withinMs;
    let best: Stored | undefined;
    for (const stored of this.#executions.values()) {
      const summary = stored.summary;
      if (summary.flow !== query.flow || summary.tenant !== query.tenant || summary.status !== 'succeeded') continue;
      if (summary.finishedAt === undefined || summary.finishedAt < since) continue;
      if (query.correlationKey !== undefined && summary.correlationKey !== query.correlationKey) continue;
      const bestAt = best?.summary.finishedAt ?? -Infinity;
      if (summary.finishedAt > bestAt || (summary.finishedAt === bestAt && summary.executionId > best!.summary.executionId)) best = stored;
    }
    if (best === undefined) return undefined;
    const finished = rowsOf(best, true).findLast((row) => row.type === 'execution_finished');
    return finished === undefined ? undefined : { executionId: best.summary.executionId, finished };
  }

  async purge(olderThanMs: number, batchSize: number): Promise<number> {
    const now = this.#clock();
    const cutoff = now - olderThanMs;
    const gone = new Set<string>();
    const ended = [...this.#executions.values()]
      .filter(({ summary }) => summary.finishedAt !== undefined && summary.finishedAt < cutoff && TERMINAL_SET.has(summary.status))
      .sort((a, b) => a.summary.finishedAt! - b.summary.finishedAt!);
    for (const stored of ended.slice(0, batchSize)) {
      this.#executions.delete(stored.summary.executionId);
      this.signals.forget(stored.summary.executionId);
      gone.add(stored.summary.executionId);
    }
    let keys = 0;
    let expired = 0;
    for (const [key, value] of this.#keys) {
      // Keys of executions purged now, or evicted over the bound before.
      if (!this.#executions.has(value.executionId)) {
        this.#keys.delete(key);
        keys += 1;
      } else if (value.expiresAt <= now && expired < batchSize) {
        this.#keys.delete(key);
        expired += 1;
      }
    }
    return gone.size + keys + expired;
  }

  async pendingElsewhere(flows: readonly FlowKey[]): Promise<PendingDefinition[]> {
    const now = this.#clock();
    const known = new Set(flows.map((flow) => flowKeyString(flow.name, flow.hash)));
    const counts = new Map<string, PendingDefinition>();
    for (const stored of this.#executions.values()) {
      const { flow, flowHash } = stored.summary;
      const key = flowKeyString(flow, flowHash);
      if (!claimable(stored, now) || known.has(key)) continue;
      counts.set(key, { flow, flowHash, count: (counts.get(key)?.count ?? 0) + 1 });
    }
    return [...counts.values()];
  }

  async close(): Promise<void> {
    this.#executions.clear();
    this.#keys.clear();
  }

  #held(lease: Lease, write: string): Stored {
    const stored = this.#executions.get(lease.executionId);
    if (stored === undefined || !holds(stored, lease)) throw lostLease(write, lease);
    return stored;
  }

  #end(stored: Stored, summary: FinishedSummary): void {
    stored.summary.status = summary.status;
    stored.summary.finishedAt = this.#clock();
    stored.summary.errorCode = summary.errorCode;
    stored.summary.recovered = summary.recovered;
  }

  #insert(stored: Stored): void {
    this.#executions.set(stored.summary.executionId, stored);
    this.#evict();
  }

  /** Over the bound, drop the oldest ended executions (never queued or running ones). */
  #evict(): void {
    if (this.#executions.size <= this.#max) return;
    for (const stored of this.#executions.values()) {
      if (this.#executions.size <= this.#max) break;
      if (!TERMINAL_SET.has(stored.summary.status)) continue;
      this.#executions.delete(stored.summary.executionId);
      this.signals.forget(stored.summary.executionId);
    }
  }
}
