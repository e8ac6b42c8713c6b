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

/** At most this many log lines are kept per execution (the rest is dropped). */
export const MAX_LOG_ENTRIES_PER_EXECUTION = 500;

/**
 * Who may write an execution's row: the worker that holds its lease, at this epoch. Every claim
 * increments the epoch, so a write carrying an older epoch (a worker that was taken over) is refused.
 */
export interface Lease {
  readonly executionId: string;
  readonly owner: string;
  readonly epoch: number;
}

/** What a durable execution needs to be (re)started by any replica; stored with the row. */
export interface StoredOptions {
  timeoutMs?: number | undefined;
  enableCaching?: boolean | undefined;
  parallelExecution?: boolean | undefined;
  requestId?: string | undefined;
  traceparent?: string | undefined;
  callbackUrl?: string | undefined;
  correlationKey?: string | undefined;
}

export interface NewExecution {
  readonly executionId: string;
  readonly flow: string;
  readonly version: string;
  /** The definition the execution is pinned to (CompiledFlow.hash). */
  readonly flowHash: string;
  readonly input: unknown;
  readonly options: StoredOptions;
  readonly parentId?: string | undefined;
  /** `queued`: for the worker pool. `running`: the caller runs it now and holds the lease. */
  readonly status: 'queued' | 'running';
  /** The lease holder, required when status is `running`. */
  readonly owner?: string | undefined;
  readonly leaseMs: number;
  /** The record as first shown (queued or running, no phases). */
  readonly record: ExecutionRecord;
  /** Inserted in the same transaction: a unique key, so concurrent duplicates cannot both insert. */
  readonly idempotency?: { readonly key: string; readonly fingerprint: string; readonly ttlMs: number } | undefined;
}

export type CreateResult =
  | { readonly created: true; readonly lease: Lease | undefined }
  /** The idempotency key is taken (and not expired): the execution it names. */
  | { readonly created: false; readonly executionId: string; readonly fingerprint: string };

/** A flow definition a replica can run: name and content hash. */
export interface FlowKey {
  readonly name: string;
  readonly hash: string;
}

/** An execution a worker claimed: everything needed to run or resume it. */
export interface ClaimedExecution {
  readonly lease: Lease;
  readonly flow: string;
  readonly flowHash: string;
  readonly input: unknown;
  readonly options: StoredOptions;
  readonly parentId: string | undefined;
  /** How many times it has been claimed (1 = first run). */
  readonly attempts: number;
  readonly cancelRequested: boolean;
  readonly record: ExecutionRecord;
  /** Outputs of completed phases by checkpoint key. */
  readonly checkpoints: ReadonlyMap<string, unknown>;
  /** Requests of completed compensable phases by checkpoint key. */
  readonly compensationRequests: ReadonlyMap<string, unknown>;
}

export interface ClaimRequest {
  readonly owner: string;
  readonly flows: readonly FlowKey[];
  readonly limit: number;
  readonly leaseMs: number;
}

export interface HeartbeatResult {
  /** Leases this worker no longer holds (taken over, or the execution ended elsewhere). */
  readonly lost: readonly string[];
  /** Executions whose cancellation was requested through another replica. */
  readonly cancelRequested: readonly string[];
}

export type CancelOutcome = 'cancelled' | 'requested' | 'terminal' | 'not_found';

/** Queued or expired executions pinned to a definition (flow, hash). */
export interface PendingDefinition {
  readonly flow: string;
  readonly flowHash: string;
  readonly count: number;
}

/**
 * Where executions live: records with their phase checkpoints, the async work queue with leases,
 * idempotency keys and logs. Memory (tests, single process), SQLite (embedded) and PostgreSQL
 * (replicas) implement the same contract; test/store runs one suite against all three.
 *
 * Times that decide leases and windows are taken from the store's clock (the database's), never
 * from a replica's.
 */
export interface ExecutionStore {
  readonly kind: 'memory' | 'sqlite' | 'postgres';
  /** True when executions survive a restart of the process. */
  readonly durable: boolean;

  /**
   * Inserts or replaces a record that is not resumable (a sync execution kept by the persistence
   * policy, a sub-flow). Never overwrites a resumable (leased) execution.
   */
  save(record: ExecutionRecord, meta?: { flowHash?: string | undefined }): Promise<void>;
  get(executionId: string): Promise<ExecutionRecord | undefined>;
  /** Newest first. */
  list(query: ExecutionQuery): Promise<ExecutionPage>;
  /** Appends to an execution the store holds; lines for unknown executions are dropped. */
  appendLogs(executionId: string, entries: readonly ExecutionLogEntry[]): Promise<void>;
  /** undefined when the execution is unknown or expired. */
  getLogs(executionId: string): Promise<ExecutionLogEntry[] | undefined>;
  close(): Promise<void>;

  /** The store's clock (ms since the epoch). */
  now(): Promise<number>;
  /** Writes a resumable execution (and its idempotency key) before anything runs. */
  create(execution: NewExecution): Promise<CreateResult>;
  /**
   * Takes up to `limit` executions that are queued, or running with an expired lease, for flows
   * this worker has in the same definition; each gets a new epoch.
   */
  claim(request: ClaimRequest): Promise<ClaimedExecution[]>;
  /** Extends the leases still held; reports those lost and those asked to cancel. */
  heartbeat(owner: string, leases: readonly Lease[], leaseMs: number): Promise<HeartbeatResult>;
  /** Records a completed phase. Throws LeaseLostError when the lease is no longer held at this epoch. */
  checkpoint(lease: Lease, key: string, output: unknown, request: unknown, leaseMs: number): Promise<void>;
  /** Writes the final record and releases the lease. Throws LeaseLostError when the lease is gone. */
  finish(lease: Lease, record: ExecutionRecord): Promise<void>;
  /** Gives leases up (shutdown): the executions become claimable at once. */
  release(leases: readonly Lease[]): Promise<void>;
  /** Cancels a queued execution at once, or flags a running one for its owner. */
  cancel(executionId: string, record: (current: ExecutionRecord) => ExecutionRecord): Promise<CancelOutcome>;
  /** The newest succeeded execution of `flow` (with this correlation key, if given) finished within `withinMs`. */
  findSucceeded(flow: string, correlationKey: string | undefined, withinMs: number): Promise<ExecutionRecord | undefined>;
  /**
   * Deletes up to `batchSize` ended executions older than `olderThanMs` (with their checkpoints,
   * logs and idempotency keys) and up to `batchSize` expired idempotency keys; returns how many rows went.
   */
  purge(olderThanMs: number, batchSize: number): Promise<number>;
  /** Claimable executions pinned to a definition not in `flows` (for the mismatch report). */
  pendingElsewhere(flows: readonly FlowKey[]): Promise<PendingDefinition[]>;
  /** Checkpoints of an execution (for `POST /executions/{id}/retry`); undefined when it has none. */
  getCheckpoints(executionId: string): Promise<StoredPhaseOutputs | undefined>;
}

export interface StoredPhaseOutputs {
  readonly checkpoints: ReadonlyMap<string, unknown>;
  readonly compensationRequests: ReadonlyMap<string, unknown>;
}

export const TERMINAL = ['succeeded', 'failed', 'compensated', 'compensation_failed', 'timed_out', 'cancelled'] as const;

export function flowKeyString(flow: string, hash: string): string {
  return `${flow}@${hash}`;
}

/** Checkpoint values are wrapped so that `undefined` survives JSON (as "absent": the phase runs again). */
export function encodeValue(value: unknown): string {
  return JSON.stringify({ v: value });
}

export function decodeValue(text: string | null | undefined): unknown {
  if (text === null || text === undefined) return undefined;
  return (JSON.parse(text) as { v?: unknown }).v;
}
