import type { ExecutionStatus } from '../engine/record.js';
import { LeaseLostError } from '../errors.js';
import type { Lease } from './lease.js';
import type { SignalStore, Suspension, WaitReason, WaitingCount } from './signals/signal-store.js';

export type { Lease } from './lease.js';

/**
 * Where executions live: each execution's journal (append-only rows), a summary row for lists,
 * the work queue with leases, and idempotency keys. Memory (tests), SQLite (embedded) and
 * PostgreSQL (replicas) implement the same contract; test/store runs one suite against all three.
 *
 * The store does not interpret journal entries: the durable layer encodes each entry as a row
 * (`JournalRow`: its type, a display form with secrets masked and sensitive fields redacted, and,
 * separately, the raw values a resumed or retried run needs) and decodes them back.
 *
 * Times that decide leases and windows are taken from the store's clock (the database's), never
 * from a replica's.
 */
export interface ExecutionStore {
  readonly kind: 'memory' | 'sqlite' | 'postgres';
  /** True when executions survive a restart of the process. */
  readonly durable: boolean;

  /** The store's clock (ms since the epoch). */
  now(): Promise<number>;

  /**
   * Writes an execution (its summary row, its first journal rows and its idempotency key, in one
   * transaction) before anything runs. `queued`: for any worker; `running`: the caller runs it now
   * and holds the lease (returned).
   */
  create(execution: NewExecution): Promise<CreateResult>;
  /**
   * Appends journal rows of a leased execution, fenced: refused with LeaseLostError (nothing
   * written) when the lease is not held at this epoch any more. Renews the lease when less than
   * half of `leaseMs` is left (the heartbeat renews it anyway; a renewal rewrites the summary row,
   * which PostgreSQL pays for). Rows whose `seq` is already stored are ignored (a retried write).
   * The durable layer awaits each write of an execution before the next; the stores commit
   * writes of different executions together.
   */
  append(lease: Lease, rows: readonly JournalRow[], leaseMs: number): Promise<void>;
  /**
   * Ends a leased execution: appends its last rows, writes its summary (final status), releases
   * the lease; fenced like `append`. With `clearState`, the raw values of its rows are dropped
   * (nothing can resume or retry from it any more).
   */
  finish(lease: Lease, rows: readonly JournalRow[], summary: FinishedSummary, options?: { clearState?: boolean }): Promise<void>;
  /**
   * Ends a run of a leased execution that waits (docs/waits.md): appends its rows, sets it
   * `waiting` until `wakeAt`, and gives the lease up; fenced like `append`. When a signal for it
   * is stored and not taken yet, it is woken at once (wake_at = now) — in the same transaction,
   * with the row locked, so a signal delivered while the run was stopping is never missed.
   * A waiting execution is claimed like a queued one once `wakeAt` has passed (store clock).
   * Its claim count restarts (a suspension is a run that ended well; EXECUTION_MAX_ATTEMPTS counts runs that died).
   */
  suspend(lease: Lease, rows: readonly JournalRow[], suspension: Suspension): Promise<void>;
  /** Signals and callback tokens of waiting executions. */
  readonly signals: SignalStore;
  /** Waiting executions by flow and reason (the gauge). */
  countWaiting(): Promise<WaitingCount[]>;

  /**
   * Stores an execution that ran without a lease (a sync execution the persistence policy keeps,
   * a sub-flow): its summary row and all its rows at once. Writes nothing when the execution is
   * stored already (a leased one is never overwritten; a retried save changes nothing).
   */
  save(execution: SavedExecution): Promise<void>;

  /** The summary and every journal row of an execution; undefined when unknown or purged. */
  get(executionId: string, options?: { withState?: boolean }): Promise<StoredExecution | undefined>;
  /** Summaries, newest first (ids are UUIDv7), filtered; keyset-paginated (see ExecutionQuery.cursor). */
  list(query: ExecutionQuery): Promise<ExecutionPage>;

  /**
   * Takes up to `limit` executions that are queued, waiting and due (wake_at passed), or running with an expired lease, for flow
   * definitions this worker has; each gets a new epoch and `attempts + 1`. Fair between tenants:
   * each tenant's oldest claimable execution comes before any tenant's second.
   */
  claim(request: ClaimRequest): Promise<ClaimedExecution[]>;
  /** Extends the leases still held; reports those lost and those asked to cancel. */
  heartbeat(owner: string, leases: readonly Lease[], leaseMs: number): Promise<HeartbeatResult>;
  /** Gives leases up (shutdown): the executions become claimable at once. */
  release(leases: readonly Lease[]): Promise<void>;
  /**
   * A queued execution is ended at once with `rows` (its `execution_finished`, cancelled) appended;
   * a running one is flagged for the worker holding its lease; a waiting one is flagged and woken
   * (wake_at = now), so a worker resumes it and it ends cancelled (compensated when transactional).
   */
  cancel(executionId: string, rows: readonly JournalRow[], summary: FinishedSummary): Promise<CancelOutcome>;
  /** Queued executions, in all or of one tenant (the queue bounds). */
  countQueued(tenant?: string): Promise<number>;
  /** Waiting executions of one tenant (WAITING_MAX_PER_TENANT). */
  countWaitingOf(tenant: string): Promise<number>;
  /** The execution an idempotency key names, while the key has not expired. */
  findIdempotencyKey(key: string): Promise<{ readonly executionId: string; readonly fingerprint: string } | undefined>;

  /**
   * The newest execution of `flow` that succeeded within `withinMs` (with this correlation key when
   * given, any key or none otherwise; of this tenant), and its `execution_finished` row with its
   * state (the raw output) when kept; after a `clearState` finish the output is the one shown in `data`.
   */
  findSucceeded(query: SucceededQuery): Promise<{ readonly executionId: string; readonly finished: JournalRow } | undefined>;
  /**
   * Deletes up to `batchSize` ended executions finished more than `olderThanMs` ago (with their
   * rows and idempotency keys) and up to `batchSize` expired idempotency keys; returns how many
   * executions and keys went (0: nothing left to purge now).
   */
  purge(olderThanMs: number, batchSize: number): Promise<number>;
  /** Claimable executions pinned to a definition not in `flows` (for the mismatch report). */
  pendingElsewhere(flows: readonly FlowKey[]): Promise<PendingDefinition[]>;
  close(): Promise<void>;
}

/** One journal entry as stored. */
export interface JournalRow {
  /** Position in the journal (0 = `execution_started`). */
  readonly seq: number;
  readonly type: string;
  /** JSON of the entry as shown: secrets masked, sensitive fields redacted, captures size-capped. */
  readonly data: string;
  /** JSON of the raw values a resumed or retried run needs (input, phase outputs, compensable requests); null when none. */
  readonly state: string | null;
}

/** What a durable execution needs to be (re)started by any replica; stored with the summary row. */
export interface StoredOptions {
  timeoutMs?: number | undefined;
  enableCaching?: boolean | undefined;
  parallelExecution?: boolean | undefined;
  requestId?: string | undefined;
  traceparent?: string | undefined;
  callbackUrl?: string | undefined;
  correlationKey?: string | undefined;
}

/** The facts lists and filters need, without the journal. */
export interface ExecutionSummary {
  readonly executionId: string;
  readonly flow: string;
  readonly version: string;
  /** The definition the execution is pinned to (CompiledFlow.hash). */
  readonly flowHash: string;
  readonly status: ExecutionStatus;
  /** Who started it (an API key's tenant; `local` without keys). */
  readonly tenant: string;
  /** ms since the epoch. */
  readonly startedAt: number;
  readonly finishedAt?: number | undefined;
  readonly parentId?: string | undefined;
  readonly correlationKey?: string | undefined;
  readonly errorCode?: string | undefined;
  readonly recovered?: boolean | undefined;
  /** While `waiting`: when it is resumed at the latest (store clock, ms), and what it waits for. */
  readonly wakeAt?: number | undefined;
  readonly waitingFor?: WaitReason | undefined;
}

export interface NewExecution {
  readonly executionId: string;
  readonly flow: string;
  readonly version: string;
  readonly flowHash: string;
  readonly tenant: string;
  readonly options: StoredOptions;
  readonly parentId?: string | undefined;
  readonly correlationKey?: string | undefined;
  readonly status: 'queued' | 'running';
  /** The lease holder, required when status is `running`. */
  readonly owner?: string | undefined;
  readonly leaseMs: number;
  /** The journal so far: at least `execution_started` (seq 0). */
  readonly rows: readonly JournalRow[];
  /** Inserted in the same transaction: a unique key, so concurrent duplicates cannot both insert. */
  readonly idempotency?: { readonly key: string; readonly fingerprint: string; readonly ttlMs: number } | undefined;
}

export type CreateResult =
  | { readonly created: true; readonly lease: Lease | undefined }
  /** The idempotency key is taken (and not expired): the execution it names. */
  | { readonly created: false; readonly executionId: string; readonly fingerprint: string };

/** The summary fields an execution's end sets. */
export interface FinishedSummary {
  readonly status: ExecutionStatus;
  readonly errorCode?: string | undefined;
  readonly recovered?: boolean | undefined;
}

export interface SavedExecution {
  readonly executionId: string;
  /** When it started (its `execution_started` entry's `at`, ms since the epoch); default: the store's clock. */
  readonly startedAt?: number | undefined;
  readonly flow: string;
  readonly version: string;
  readonly flowHash: string;
  readonly tenant: string;
  readonly parentId?: string | undefined;
  readonly correlationKey?: string | undefined;
  readonly summary: FinishedSummary;
  readonly rows: readonly JournalRow[];
}

export interface StoredExecution {
  readonly summary: ExecutionSummary;
  readonly options: StoredOptions;
  /** In `seq` order; `state` is null unless asked for `withState` (or cleared). */
  readonly rows: readonly JournalRow[];
}

export interface ExecutionQuery {
  readonly flow?: string | undefined;
  readonly status?: ExecutionStatus | undefined;
  /** Only this tenant's executions; undefined = every tenant's (operators). */
  readonly tenant?: string | undefined;
  readonly limit: number;
  /**
   * A previous page's `nextCursor`: its last item's execution id. Items come strictly after it
   * (smaller ids), so a page merged with executions kept elsewhere can be continued by id.
   */
  readonly cursor?: string | undefined;
}

export interface ExecutionPage {
  readonly items: readonly ExecutionSummary[];
  readonly nextCursor?: string | undefined;
}

/** A flow definition a replica can run: name and content hash. */
export interface FlowKey {
  readonly name: string;
  readonly hash: string;
}

export interface ClaimRequest {
  readonly owner: string;
  readonly flows: readonly FlowKey[];
  readonly limit: number;
  readonly leaseMs: number;
}

/** An execution a worker claimed: everything needed to run or resume it. */
export interface ClaimedExecution {
  readonly lease: Lease;
  readonly summary: ExecutionSummary;
  readonly options: StoredOptions;
  /** How many times it has been claimed (1 = first run). */
  readonly attempts: number;
  readonly cancelRequested: boolean;
  /** Its journal so far, state included. */
  readonly rows: readonly JournalRow[];
}

export interface HeartbeatResult {
  /** Leases this worker no longer holds (taken over, or the execution ended elsewhere). */
  readonly lost: readonly string[];
  /** Executions whose cancellation was requested through another replica. */
  readonly cancelRequested: readonly string[];
}

export type CancelOutcome = 'cancelled' | 'requested' | 'terminal' | 'not_found';

export interface SucceededQuery {
  readonly flow: string;
  readonly correlationKey: string | undefined;
  readonly tenant: string;
  readonly withinMs: number;
}

/** Queued or expired executions pinned to a definition (flow, hash). */
export interface PendingDefinition {
  readonly flow: string;
  readonly flowHash: string;
  readonly count: number;
}

export const TERMINAL = ['succeeded', 'failed', 'compensated', 'compensation_failed', 'timed_out', 'cancelled'] as const;

export function flowKeyString(flow: string, hash: string): string {
  return `${flow}@${hash}`;
}

/** The error of a write refused because the lease is not held at its epoch any more. */
export function lostLease(write: string, lease: Lease): LeaseLostError {
  return new LeaseLostError(`${write} refused: execution ${lease.executionId} is no longer held at epoch ${lease.epoch}`);
}
