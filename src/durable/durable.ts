import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { EnvConfig } from '../config/env.js';
import { FlowdError, InputValidationError, LeaseLostError, toFlowdError } from '../errors.js';
import { FlowNotFoundError, type FlowEngine } from '../engine/flow-engine.js';
import { newExecutionId } from '../engine/ids.js';
import type { FlowLogger } from '../engine/logger.js';
import { TERMINAL_STATUSES, type ExecutionRecord, type ExecutionStatus } from '../engine/record.js';
import type { ExecutionObserver, FindSucceeded } from '../engine/runtime.js';
import type { CompiledFlow, Persistence } from '../flows/compiled.js';
import type { SecretStore } from '../flows/secrets.js';
import type {
  ClaimedExecution,
  ExecutionLogEntry,
  ExecutionPage,
  ExecutionQuery,
  ExecutionStore,
  FlowKey,
  Lease,
  PendingDefinition,
  StoredOptions,
} from '../store/execution-store.js';
import { MemoryExecutionStore } from '../store/memory-store.js';
import { CallbackSender } from './callbacks.js';
import { ExecutionLogs } from './execution-logs.js';
import { callerKey, fingerprint, triggerKey } from './idempotency.js';
import { LeaseKeeper } from './leases.js';

/** The durable layer's settings, from the environment (see README, Durability). */
export interface DurableSettings {
  readonly persistence: Persistence;
  readonly leaseMs: number;
  readonly heartbeatMs: number;
  readonly workerConcurrency: number;
  readonly pollMs: number;
  readonly claimBatch: number;
  readonly maxAttempts: number;
  readonly idempotencyTtlMs: number;
  readonly retentionMs: number;
  readonly retentionIntervalMs: number;
  readonly retentionBatch: number;
  readonly callbackAllow: string;
  readonly callbackTimeoutMs: number;
  readonly executionsMax: number;
}

export function durableSettings(config: EnvConfig): DurableSettings {
  return {
    persistence: config.PERSISTENCE,
    leaseMs: config.LEASE_MS,
    heartbeatMs: config.HEARTBEAT_MS ?? Math.max(100, Math.floor(config.LEASE_MS / 3)),
    workerConcurrency: config.WORKER_CONCURRENCY,
    pollMs: config.WORKER_POLL_MS,
    claimBatch: config.CLAIM_BATCH,
    maxAttempts: config.EXECUTION_MAX_ATTEMPTS,
    idempotencyTtlMs: config.IDEMPOTENCY_TTL_MS,
    retentionMs: config.RETENTION_MS,
    retentionIntervalMs: config.RETENTION_INTERVAL_MS,
    retentionBatch: config.RETENTION_BATCH,
    callbackAllow: config.CALLBACK_ALLOW,
    callbackTimeoutMs: config.CALLBACK_TIMEOUT_MS,
    executionsMax: config.EXECUTIONS_MAX,
  };
}

export interface DurableOptions {
  readonly store: ExecutionStore;
  readonly settings: DurableSettings;
  readonly logger: FlowLogger;
  readonly secrets: SecretStore;
  /** While `shuttingDown`, no new work is claimed. */
  readonly state?: { readonly shuttingDown: boolean };
  /** This process's identity in leases. Default: host, pid and a random suffix. */
  readonly owner?: string;
  /**
   * Applied to every record before it is stored or served from the store (secret values masked,
   * sensitive fields redacted). Default: mask secret values. Checkpoints and the input kept to
   * resume an execution are stored as they are: a resumed run needs the real values.
   */
  readonly storedRecord?: (record: ExecutionRecord) => ExecutionRecord;
  /** Replaces the live record's input when a durable execution starts (sensitive fields redacted). */
  readonly redactInput?: (input: unknown) => unknown;
}

export interface SubmitRequest {
  readonly flow: string;
  readonly input: unknown;
  readonly options: StoredOptions;
  /** `async`: queued for any replica's worker. `run`: this process runs it now, durably. */
  readonly mode: 'async' | 'run';
  readonly idempotencyKey?: string | undefined;
}

export type SubmitResult =
  | { readonly kind: 'queued'; readonly executionId: string }
  | { readonly kind: 'started'; readonly executionId: string; readonly done: Promise<ExecutionRecord> }
  /** The idempotency key names an execution of the same request. */
  | { readonly kind: 'existing'; readonly executionId: string };

export type CancelResult = 'cancelling' | 'cancelled' | 'terminal' | 'not_found';

const MISMATCH_REPORT_EVERY_MS = 30_000;
const SHUTDOWN_SETTLE_MS = 2000;

/**
 * Durable executions on top of the engine, without the engine knowing about databases: writes the
 * row before anything runs, checkpoints each phase through a per-execution observer fenced by the
 * lease epoch, renews leases, claims queued and orphaned work, resumes it from its checkpoints,
 * applies the persistence policy to the rest, purges old executions and sends callbacks.
 */
export class Durable {
  readonly owner: string;
  readonly store: ExecutionStore;
  /** Where records that are not persisted go (process memory; the store itself when it is memory). */
  readonly recent: ExecutionStore;
  readonly logs: ExecutionLogs;
  readonly callbacks: CallbackSender;
  readonly settings: DurableSettings;
  readonly #logger: FlowLogger;
  readonly #stored: (record: ExecutionRecord) => ExecutionRecord;
  readonly #redactInput: (input: unknown) => unknown;
  readonly #state: { readonly shuttingDown: boolean };
  readonly #leases: LeaseKeeper;
  readonly #inFlight = new Map<string, Promise<ExecutionRecord>>();
  readonly #reported = new Map<string, number>();
  #engine: FlowEngine | undefined;
  #flows: ReadonlyMap<string, CompiledFlow> = new Map();
  #flowKeys: FlowKey[] = [];
  #workerActive = 0;
  #pollTimer: NodeJS.Timeout | undefined;
  #polling = false;
  #pollAgain = false;
  #retentionTimer: NodeJS.Timeout | undefined;
  #mismatchTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: DurableOptions) {
    this.store = options.store;
    this.settings = options.settings;
    this.#logger = options.logger;
    const secrets = options.secrets;
    this.#stored = options.storedRecord ?? ((record) => secrets.mask(record));
    this.#redactInput = options.redactInput ?? ((input) => input);
    this.#state = options.state ?? { shuttingDown: false };
    this.owner = options.owner ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.recent = options.store.kind === 'memory' ? options.store : new MemoryExecutionStore({ maxExecutions: options.settings.executionsMax });
    this.logs = new ExecutionLogs(options.logger);
    this.callbacks = new CallbackSender({ allow: options.settings.callbackAllow, timeoutMs: options.settings.callbackTimeoutMs, logger: options.logger });
    this.#leases = new LeaseKeeper({
      store: options.store,
      owner: this.owner,
      leaseMs: options.settings.leaseMs,
      heartbeatMs: options.settings.heartbeatMs,
      logger: options.logger,
      onCancelRequested: (executionId) => this.#engine?.cancel(executionId, 'cancelled through the API'),
    });
  }

  /** Connects the engine (built with `observer`, `startTriggered` and `findSucceeded`) and starts the worker. */
  attach(engine: FlowEngine, flows: ReadonlyMap<string, CompiledFlow>): void {
    this.#engine = engine;
    this.#flows = flows;
    this.#flowKeys = [...flows.values()].map((flow) => ({ name: flow.name, hash: flow.hash }));
    if (this.settings.workerConcurrency > 0) this.#schedule(0);
    if (this.settings.retentionMs > 0) {
      this.#retentionTimer = setInterval(() => void this.purgeExpired().catch((error: unknown) => this.#logger.warn({ err: error }, 'retention failed')), this.settings.retentionIntervalMs);
      this.#retentionTimer.unref();
    }
    const report = (): void => {
      if (this.#closed) return;
      void this.reportMismatches().catch((error: unknown) => this.#logger.warn({ err: error }, 'definition check failed'));
      this.#mismatchTimer = setTimeout(report, MISMATCH_REPORT_EVERY_MS).unref();
    };
    this.#mismatchTimer = setTimeout(report, Math.min(1000, this.settings.pollMs)).unref();
  }

  // ─── engine hooks ──────────────────────────────────────────────────────────────────────────

  /**
   * The engine-wide observer: executions that are not leased (sync calls under `none`/`failed`,
   * sub-flows, recovery flows) are stored at the end as the persistence policy says.
   *
   * What is stored and served never carries sensitive input fields or configured secret values
   * (`redactInput`, `storedRecord`): `record.input` is replaced in place when the execution starts
   * (before the record is visible to anyone: the engine returns the id afterwards; the execution
   * itself keeps evaluating the raw input, its scope is separate from `record.input`), and the
   * stored record is a sanitised copy, while the caller of execute gets the live record with the
   * output it asked for.
   */
  readonly observer: ExecutionObserver = {
    onStart: (record) => {
      if (record.input !== undefined) record.input = this.#redactInput(record.input);
    },
    onFinish: async (record, flow) => {
      const policy = this.persistenceOf(flow);
      const keep = policy === 'all' || (policy === 'failed' && record.status !== 'succeeded') || record.correlationKey !== undefined;
      const target = keep ? this.store : this.recent;
      try {
        await target.save(this.#stored(record), { flowHash: flow.hash });
      } catch (error) {
        this.#logger.error({ err: error, executionId: record.executionId }, 'could not store the execution record');
      }
      await this.logs.finish(record.executionId, target);
    },
  };

  /** `triggers`: dependents go through the queue, keyed by parent so a resumed parent does not start them twice. */
  readonly startTriggered = async (flow: string, input: unknown, parentId: string): Promise<string | undefined> => {
    const compiled = this.#requireFlow(flow);
    validate(compiled, input);
    const print = fingerprint(flow, input);
    const executionId = newExecutionId();
    const created = await this.store.create({
      executionId,
      flow,
      version: compiled.version,
      flowHash: compiled.hash,
      input,
      options: {},
      parentId,
      status: 'queued',
      leaseMs: this.settings.leaseMs,
      record: this.#stored(initialRecord(compiled, executionId, input, 'queued', {}, parentId)),
      idempotency: { key: triggerKey(parentId, flow, print), fingerprint: print, ttlMs: this.settings.idempotencyTtlMs },
    });
    this.wake();
    return created.created ? executionId : created.executionId;
  };

  readonly findSucceeded: FindSucceeded = async (flow, correlationKey, withinMs) =>
    (await this.store.findSucceeded(flow, correlationKey, withinMs)) ??
    (this.recent === this.store ? undefined : await this.recent.findSucceeded(flow, correlationKey, withinMs));

  // ─── API ───────────────────────────────────────────────────────────────────────────────────

  persistenceOf(flow: CompiledFlow): Persistence {
    return flow.persistence ?? this.settings.persistence;
  }

  /**
   * Writes the execution (and its idempotency key, in the same transaction) before anything runs,
   * then queues it or runs it here under a lease. Throws FLOWD_ERR_IDEMPOTENCY_KEY_REUSED when the
   * key names an execution of a different request.
   */
  async submit(request: SubmitRequest): Promise<SubmitResult> {
    const flow = this.#requireFlow(request.flow);
    validate(flow, request.input);
    const executionId = newExecutionId();
    const status = request.mode === 'async' ? 'queued' : 'running';
    const print = request.idempotencyKey === undefined ? undefined : fingerprint(flow.name, request.input);
    const created = await this.store.create({
      executionId,
      flow: flow.name,
      version: flow.version,
      flowHash: flow.hash,
      input: request.input,
      options: request.options,
      status,
      owner: this.owner,
      leaseMs: this.settings.leaseMs,
      record: this.#stored(initialRecord(flow, executionId, request.input, status, request.options, undefined)),
      idempotency:
        request.idempotencyKey === undefined ? undefined : { key: callerKey(request.idempotencyKey), fingerprint: print!, ttlMs: this.settings.idempotencyTtlMs },
    });
    if (!created.created) {
      if (created.fingerprint !== print) {
        throw new FlowdError(
          'FLOWD_ERR_IDEMPOTENCY_KEY_REUSED',
          `this Idempotency-Key was already used for a different request (execution ${created.executionId}); use a new key`,
          { details: { executionId: created.executionId } },
        );
      }
      return { kind: 'existing', executionId: created.executionId };
    }
    if (request.mode === 'async') {
      this.wake();
      return { kind: 'queued', executionId };
    }
    const { done } = this.#runLeased(created.lease!, { flow: flow.name, input: request.input, options: request.options });
    return { kind: 'started', executionId, done };
  }

  /** The live record when it runs here, else the stored one. */
  async getRecord(executionId: string): Promise<ExecutionRecord | undefined> {
    const running = this.#engine?.getRunning(executionId);
    if (running !== undefined) return running;
    return (await this.store.get(executionId)) ?? (this.recent === this.store ? undefined : await this.recent.get(executionId));
  }

  async getLogs(executionId: string): Promise<ExecutionLogEntry[] | undefined> {
    const stored = (await this.store.getLogs(executionId)) ?? (this.recent === this.store ? undefined : await this.recent.getLogs(executionId));
    const pending = this.logs.pending(executionId);
    if (stored === undefined) return pending.length > 0 || this.#engine?.getRunning(executionId) !== undefined ? pending : undefined;
    return [...stored, ...pending];
  }

  list(query: ExecutionQuery): Promise<ExecutionPage> {
    return this.store.list(query);
  }

  /**
   * Cancels an execution: here if it runs here, at once if it is still queued, else by flagging
   * it for the replica that holds its lease (it cancels within one heartbeat).
   */
  async cancel(executionId: string): Promise<CancelResult> {
    const live = this.#engine?.getRunning(executionId);
    if (live !== undefined) {
      // Ended but still writing its final record: nothing left to cancel.
      if (TERMINAL_STATUSES.has(live.status)) return 'terminal';
      if (this.#engine!.cancel(executionId, 'cancelled through the API')) return 'cancelling';
    }
    const outcome = await this.store.cancel(executionId, (current) => ({
      ...current,
      status: 'cancelled',
      finishedAt: new Date().toISOString(),
      error: { code: 'FLOWD_ERR_CANCELLED', message: 'cancelled through the API before it started', recoverable: false },
    }));
    if (outcome === 'cancelled') return 'cancelled';
    if (outcome === 'requested') return 'cancelling';
    if (outcome === 'terminal') return 'terminal';
    if (this.recent !== this.store && (await this.recent.get(executionId)) !== undefined) return 'terminal';
    return 'not_found';
  }

  /** Looks for queued work now instead of at the next poll. */
  wake(): void {
    if (this.settings.workerConcurrency > 0 && this.#engine !== undefined) this.#schedule(0);
  }

  /** Durable executions this process runs now (worker and sync). */
  get active(): number {
    return this.#inFlight.size;
  }

  /** Purges ended executions older than RETENTION_MS in small batches; returns how many rows went. */
  async purgeExpired(maxBatches = 20): Promise<number> {
    let total = 0;
    for (let batch = 0; batch < maxBatches && !this.#closed; batch += 1) {
      const removed = await this.store.purge(this.settings.retentionMs, this.settings.retentionBatch);
      total += removed;
      if (removed < this.settings.retentionBatch) break;
      await yieldToLoop();
    }
    if (this.recent !== this.store) total += await this.recent.purge(this.settings.retentionMs, this.settings.retentionBatch);
    if (total > 0) this.#logger.info({ removed: total }, 'retention: purged old executions');
    return total;
  }

  /**
   * Reports claimable executions pinned to a definition this replica does not have (another
   * version of the flow, or an unknown flow): this replica leaves them to a replica that has it.
   */
  async reportMismatches(): Promise<PendingDefinition[]> {
    const pending = await this.store.pendingElsewhere(this.#flowKeys);
    const now = Date.now();
    for (const entry of pending) {
      const key = `${entry.flow}@${entry.flowHash}`;
      if ((this.#reported.get(key) ?? 0) > now) continue;
      this.#reported.set(key, now + 5 * 60_000);
      const local = this.#flows.get(entry.flow);
      if (local !== undefined) {
        this.#logger.warn(
          { flow: entry.flow, pinnedHash: entry.flowHash, localHash: local.hash, executions: entry.count },
          'flow definition mismatch: executions were started on another definition of this flow; this replica will not run them (they stay pinned to their definition)',
        );
      } else {
        this.#logger.warn({ flow: entry.flow, pinnedHash: entry.flowHash, executions: entry.count }, 'executions wait for a flow this replica does not have');
      }
    }
    return pending;
  }

  /**
   * Stops claiming, aborts what still runs here without compensating it and gives its leases
   * back, so another replica (or the next start) resumes it from its last checkpoint at once.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#pollTimer);
    clearInterval(this.#retentionTimer);
    clearTimeout(this.#mismatchTimer);
    const leases = this.#leases.leases();
    if (leases.length > 0) {
      this.#leases.abortAll('released at shutdown');
      await Promise.race([Promise.allSettled([...this.#inFlight.values()]), new Promise((resolve) => setTimeout(resolve, SHUTDOWN_SETTLE_MS).unref())]);
      await this.store.release(leases).catch((error: unknown) => this.#logger.warn({ err: error }, 'could not release leases at shutdown'));
    }
    this.#leases.close();
    await this.logs.close();
    await this.callbacks.close();
  }

  // ─── internals ─────────────────────────────────────────────────────────────────────────────

  #requireFlow(name: string): CompiledFlow {
    const flow = this.#flows.get(name);
    if (flow === undefined) throw new FlowNotFoundError(name);
    return flow;
  }

  #schedule(delayMs: number): void {
    if (this.#closed) return;
    clearTimeout(this.#pollTimer);
    this.#pollTimer = setTimeout(() => void this.#tick(), delayMs);
    this.#pollTimer.unref();
  }

  async #tick(): Promise<void> {
    this.#pollTimer = undefined;
    if (this.#polling) {
      this.#pollAgain = true;
      return;
    }
    this.#polling = true;
    let full = false;
    try {
      full = await this.#poll();
    } catch (error) {
      this.#logger.warn({ err: error }, 'claiming queued executions failed');
    } finally {
      this.#polling = false;
    }
    if (this.#pollAgain || full) {
      this.#pollAgain = false;
      this.#schedule(0);
    } else if (this.#pollTimer === undefined) {
      this.#schedule(this.settings.pollMs);
    }
  }

  /** Claims one batch; true when the batch was full (there may be more). */
  async #poll(): Promise<boolean> {
    if (this.#closed || this.#state.shuttingDown || this.#engine === undefined) return false;
    const free = this.settings.workerConcurrency - this.#workerActive;
    if (free <= 0) return false;
    const limit = Math.min(free, this.settings.claimBatch);
    const claimed = await this.store.claim({ owner: this.owner, flows: this.#flowKeys, limit, leaseMs: this.settings.leaseMs });
    for (const execution of claimed) this.#startClaimed(execution);
    return claimed.length === limit;
  }

  #startClaimed(claimed: ClaimedExecution): void {
    const { lease } = claimed;
    if (claimed.attempts > this.settings.maxAttempts) {
      const flow = this.#flows.get(claimed.flow)!;
      const record = failedRecord(
        flow,
        claimed,
        new FlowdError('FLOWD_ERR_INTERNAL', `gave up after ${claimed.attempts - 1} attempts (each ended without a result: crash or lost lease); see EXECUTION_MAX_ATTEMPTS`),
      );
      void this.#finishLeased(lease, record, claimed.options.callbackUrl);
      return;
    }
    if (claimed.attempts > 1) {
      this.#logger.info({ executionId: lease.executionId, attempt: claimed.attempts, checkpoints: claimed.checkpoints.size }, 'resuming execution from its checkpoints');
    }
    this.#workerActive += 1;
    const { done } = this.#runLeased(lease, {
      flow: claimed.flow,
      input: claimed.input,
      options: claimed.options,
      parentId: claimed.parentId,
      checkpoints: claimed.checkpoints,
      compensationRequests: claimed.compensationRequests,
      startedAt: claimed.attempts > 1 ? claimed.record.startedAt : undefined,
      cancel: claimed.cancelRequested,
      claimed,
    });
    void done.finally(() => {
      this.#workerActive -= 1;
      this.#schedule(0);
    });
  }

  /** Runs an execution whose lease this process holds; every write it makes is fenced by the lease. */
  #runLeased(
    lease: Lease,
    start: {
      flow: string;
      input: unknown;
      options: StoredOptions;
      parentId?: string | undefined;
      checkpoints?: ReadonlyMap<string, unknown> | undefined;
      compensationRequests?: ReadonlyMap<string, unknown> | undefined;
      startedAt?: string | undefined;
      cancel?: boolean | undefined;
      claimed?: ClaimedExecution | undefined;
    },
  ): { done: Promise<ExecutionRecord> } {
    const engine = this.#engine!;
    const executionId = lease.executionId;
    const signal = this.#leases.hold(lease);
    this.logs.attach(executionId, this.store);
    const { options } = start;
    const observer: ExecutionObserver = {
      onStart: (record) => {
        if (start.startedAt !== undefined) record.startedAt = start.startedAt;
        if (record.input !== undefined) record.input = this.#redactInput(record.input);
      },
      onCheckpoint: (_record, key, output, detail) => this.store.checkpoint(lease, key, output, detail?.request, this.settings.leaseMs),
      onFinish: (record) => this.#finishLeased(lease, record, options.callbackUrl),
    };
    let done: Promise<ExecutionRecord>;
    try {
      const started = engine.start(start.flow, start.input, {
        executionId,
        parentId: start.parentId,
        observer,
        signal,
        checkpoints: start.checkpoints,
        compensationRequests: start.compensationRequests,
        timeoutMs: options.timeoutMs,
        enableCaching: options.enableCaching,
        parallelExecution: options.parallelExecution,
        requestId: options.requestId,
        traceparent: options.traceparent,
        correlationKey: options.correlationKey,
      });
      if (start.cancel === true) engine.cancel(executionId, 'cancelled through the API');
      done = started.done.catch(async (error: unknown) => {
        // Only an observer or middleware failure gets here (the engine never throws for a failed flow).
        this.#logger.error({ err: error, executionId }, 'durable execution ended abnormally');
        const live = engine.getRunning(executionId);
        return live ?? (await this.store.get(executionId)) ?? failedRecordFor(start.flow, executionId, toFlowdError(error));
      });
    } catch (error) {
      // The flow vanished or its input no longer validates (definition changed while queued).
      const record = start.claimed === undefined ? failedRecordFor(start.flow, executionId, toFlowdError(error)) : failedRecord(this.#flows.get(start.flow), start.claimed, toFlowdError(error));
      done = this.#finishLeased(lease, record, options.callbackUrl).then(() => record);
    }
    const tracked = done.then(async (record) => {
      this.#leases.drop(executionId);
      this.#inFlight.delete(executionId);
      // Not ended: abandoned after losing the lease; its successor writes the log from here on.
      if (TERMINAL_STATUSES.has(record.status)) await this.logs.finish(executionId, this.store);
      else this.logs.drop(executionId);
      return record;
    });
    this.#inFlight.set(executionId, tracked);
    return { done: tracked };
  }

  async #finishLeased(lease: Lease, record: ExecutionRecord, callbackUrl: string | undefined): Promise<void> {
    const masked = this.#stored(record);
    try {
      await this.store.finish(lease, masked);
    } catch (error) {
      if (error instanceof LeaseLostError) this.#logger.warn({ executionId: lease.executionId, epoch: lease.epoch }, 'final write refused: another worker holds the execution now');
      else this.#logger.error({ err: error, executionId: lease.executionId }, 'could not write the final record; the execution will be resumed when its lease expires');
      return;
    }
    if (callbackUrl !== undefined) this.callbacks.send(callbackUrl, masked);
  }
}

function validate(flow: CompiledFlow, input: unknown): void {
  const issues = flow.validateInput(input);
  if (issues !== undefined) {
    throw new InputValidationError(
      `input does not match the schema of flow "${flow.name}": ${issues.map((issue) => `${issue.path} ${issue.message}`).join('; ')}`,
      issues,
    );
  }
}

function initialRecord(
  flow: CompiledFlow,
  executionId: string,
  input: unknown,
  status: ExecutionStatus,
  options: StoredOptions,
  parentId: string | undefined,
): ExecutionRecord {
  return {
    executionId,
    flow: flow.name,
    version: flow.version,
    status,
    input,
    startedAt: new Date().toISOString(),
    errorHandled: false,
    fallbackExecuted: false,
    recovered: false,
    phases: [],
    ...(parentId === undefined ? {} : { parentId }),
    ...(options.requestId === undefined ? {} : { requestId: options.requestId }),
    ...(options.correlationKey === undefined ? {} : { correlationKey: options.correlationKey }),
  };
}

function failedRecord(flow: CompiledFlow | undefined, claimed: ClaimedExecution, error: FlowdError): ExecutionRecord {
  return {
    ...claimed.record,
    ...(flow === undefined ? {} : { version: flow.version }),
    status: 'failed',
    finishedAt: new Date().toISOString(),
    error: { code: error.code, message: error.message, recoverable: false },
  };
}

function failedRecordFor(flow: string, executionId: string, error: FlowdError): ExecutionRecord {
  return {
    executionId,
    flow,
    version: '',
    status: 'failed',
    startedAt: new Date().toISOString(),
    finishedAt: new Date().toISOString(),
    errorHandled: false,
    fallbackExecuted: false,
    recovered: false,
    phases: [],
    error: { code: error.code, message: error.message, recoverable: false },
  };
}
