import { FlowdError, InputValidationError } from '../errors.js';
import type { FlowEngine } from '../engine/flow-engine.js';
import type { Journal } from '../engine/journal/journal.js';
import { TERMINAL_STATUSES, type ExecutionRecord, type ExecutionStatus, type WaitingRecord } from '../engine/record.js';
import { recordView } from '../engine/journal/record-view.js';
import { startedEntry } from '../engine/run/execution.js';
import type { CompiledFlow } from '../flows/compiled.js';
import type { FlowCatalog } from '../flows/flow-catalog.js';
import { didYouMean } from '../flows/suggest.js';
import { callerKey, fingerprint } from '../durable/idempotency.js';
import { encodeEntries } from '../durable/journal-codec.js';
import type { LeasedRuns } from '../durable/leased-runs.js';
import type { PersistencePolicy } from '../durable/persistence-policy.js';
import type { WorkQueue } from '../durable/work-queue.js';
import type { ExecutionStore, Lease, StoredOptions } from '../store/execution-store.js';
import type { Caller } from './caller.js';
import type { ExecutionReads } from './execution-reads.js';
import type { QueueAdmission } from './queue-admission.js';
import { retryExecution } from './execution-retry.js';
import type { Cleaner } from '../observability/cleaner.js';

/** One request to run a flow, as the API (or any front end) received it. */
export interface RunRequest {
  readonly flow: string;
  /** A loaded version of the flow; undefined: its current version. */
  readonly version?: string | undefined;
  readonly input: unknown;
  readonly options: Omit<StoredOptions, 'requestId' | 'traceparent'>;
  readonly requestId: string;
  readonly traceparent?: string | undefined;
  readonly caller: Caller;
  /** Queue it and answer at once (`Prefer: respond-async`). */
  readonly respondAsync?: boolean | undefined;
  /** Answer after at most this long, ended or not (`Prefer: wait=N`). */
  readonly waitMs?: number | undefined;
  readonly idempotencyKey?: string | undefined;
}

/** How a run request ended, for the front end to answer. */
export type RunOutcome =
  /** It ran to its end: the journal holds everything (the caller sees its output as is). */
  | { readonly kind: 'ended'; readonly journal: Journal }
  /** Accepted, not ended (queued, still running after `wait`, or waiting at a wait phase). */
  | { readonly kind: 'accepted'; readonly executionId: string; readonly status: ExecutionStatus; readonly waiting?: WaitingRecord | undefined }
  /** The idempotency key names an execution of the same request that ended: its record again. */
  | { readonly kind: 'replayed'; readonly record: ExecutionRecord }
  /** The idempotency key names an execution of the same request that has not ended. */
  | { readonly kind: 'in_progress'; readonly executionId: string; readonly status: ExecutionStatus };

/** How a run this process started answered: ended here, or accepted (still running, waiting, or carried on elsewhere). */
export type AnsweredOutcome = Extract<RunOutcome, { kind: 'ended' | 'accepted' }>;

export interface ExecutionServiceOptions {
  readonly engine: FlowEngine;
  readonly flows: FlowCatalog;
  readonly store: ExecutionStore;
  readonly reads: ExecutionReads;
  readonly policy: PersistencePolicy;
  readonly runs: LeasedRuns;
  readonly queue: WorkQueue;
  readonly owner: string;
  readonly leaseMs: number;
  readonly idempotencyTtlMs: number;
  readonly maxInflight: number;
  readonly clean: Cleaner;
  /** The bounds on queued work (QUEUE_MAX, QUEUE_MAX_PER_TENANT). */
  readonly admission: QueueAdmission;
}

/**
 * How executions run: in memory (the default), durably (`persistence: all`, written ahead of
 * side effects and resumable), queued (`respond-async`), or not at all when an Idempotency-Key
 * names an execution of the same request. Owns the in-flight bound: a slot is taken before
 * anything is awaited and given back when the execution ends, on every path.
 */
export class ExecutionService {
  readonly #options: ExecutionServiceOptions;
  #inflight = 0;

  constructor(options: ExecutionServiceOptions) {
    this.#options = options;
  }

  /** Executions this service runs now (sync, durable, waited on). */
  get inflight(): number {
    return this.#inflight;
  }

  async run(request: RunRequest): Promise<RunOutcome> {
    const options = this.#options;
    const queueOnly = request.respondAsync === true && request.waitMs === undefined;
    const release = queueOnly ? undefined : this.#takeSlot();
    let running: Promise<unknown> | undefined;
    try {
      const flow = findFlow(options.flows, request.flow, request.version);
      validate(flow, request.input);
      // A flow that waits is written before it runs: a signal may be sent to it at once.
      const eager = request.respondAsync === true || request.waitMs !== undefined || request.idempotencyKey !== undefined || flow.waits.durable;
      if (!eager) {
        const durable = options.policy.of(flow) === 'all';
        const started = durable ? this.#startLazy(flow, request) : this.#startInMemory(flow, request);
        running = started.done;
        return await this.#answer(started, request.waitMs);
      }
      const created = await this.#create(flow, request, queueOnly ? 'queued' : 'running');
      if (created.kind !== 'created') return created.outcome;
      if (queueOnly) {
        options.queue.wake();
        return { kind: 'accepted', executionId: created.journal.executionId, status: 'queued' };
      }
      const started = options.runs.start({
        flow,
        tenant: request.caller.tenant,
        options: storedOptions(request),
        journal: created.journal,
        input: request.input,
        lease: created.lease,
      });
      running = started.done;
      return await this.#answer({ executionId: started.executionId, done: started.done, journal: created.journal }, request.waitMs);
    } finally {
      if (release !== undefined) {
        if (running === undefined) release();
        else void running.finally(release);
      }
    }
  }

  /**
   * Re-runs a failed execution from the phase that failed (see execution-retry.ts), within the
   * in-flight bound; it ends here, or is accepted (it waits, or goes on on another replica).
   */
  async retry(executionId: string, caller: Caller, requestId: string): Promise<{ outcome: AnsweredOutcome; fromPhase: string | undefined; reused: number }> {
    const release = this.#takeSlot();
    try {
      const retried = await retryExecution(this.#options, executionId, caller, requestId);
      return { outcome: await this.#answer(retried, undefined), fromPhase: retried.fromPhase, reused: retried.reused };
    } finally {
      release();
    }
  }

  /** Takes an in-flight slot now (no await before it: a burst cannot slip through), or refuses. */
  #takeSlot(): () => void {
    if (this.#inflight >= this.#options.maxInflight) {
      throw new FlowdError('FLOWD_ERR_OVERLOADED', `too many executions in flight (MAX_INFLIGHT_EXECUTIONS=${this.#options.maxInflight}); retry shortly`, {
        details: { retryAfterSeconds: 1 },
      });
    }
    this.#inflight += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#inflight -= 1;
    };
  }

  #startInMemory(flow: CompiledFlow, request: RunRequest): { executionId: string; done: Promise<unknown>; journal: Journal } {
    const { options } = request;
    return this.#options.engine.start(flow, request.input, {
      timeoutMs: options.timeoutMs,
      enableCaching: options.enableCaching,
      parallelExecution: options.parallelExecution,
      correlationKey: options.correlationKey,
      requestId: request.requestId,
      traceparent: request.traceparent,
      tenant: request.caller.tenant,
    });
  }

  /** Durable without a prior write: stored ahead of its first side effect, or once at its end. */
  #startLazy(flow: CompiledFlow, request: RunRequest): { executionId: string; done: Promise<unknown>; journal: Journal } {
    const journal = this.#options.engine.newJournal(flow);
    const started = this.#options.runs.start({ flow, tenant: request.caller.tenant, options: storedOptions(request), input: request.input, journal });
    return { executionId: started.executionId, done: started.done, journal };
  }

  async #answer(started: { executionId: string; done: Promise<unknown>; journal: Journal }, waitMs: number | undefined): Promise<AnsweredOutcome> {
    const ended = waitMs === undefined ? await started.done.then(() => true) : await within(started.done, waitMs);
    const journal = started.journal;
    // Still running after `wait`, or this replica lost the lease and another one carries on.
    if (!ended || journal.finished === undefined) {
      if (ended && journal.entries[journal.length - 1]?.type === 'run_suspended') {
        return { kind: 'accepted', executionId: started.executionId, status: 'waiting', waiting: recordView(journal.entries).waiting };
      }
      return { kind: 'accepted', executionId: started.executionId, status: 'running' };
    }
    return { kind: 'ended', journal };
  }

  /** Writes the execution before it runs; with an Idempotency-Key, finds the execution it names instead. */
  async #create(
    flow: CompiledFlow,
    request: RunRequest,
    status: 'queued' | 'running',
  ): Promise<{ kind: 'created'; journal: Journal; lease: Lease | undefined } | { kind: 'existing'; outcome: RunOutcome }> {
    const options = this.#options;
    const executionId = options.engine.newExecutionId();
    const journal = options.engine.newJournal(flow);
    const stored = storedOptions(request);
    journal.append(startedEntry(flow, executionId, request.input, { ...stored, tenant: request.caller.tenant }));
    // The target as asked for: an explicit version, or "the current one" (a retry after a deploy replays the first answer).
    const print = request.idempotencyKey === undefined ? undefined : fingerprint(request.version === undefined ? flow.name : `${flow.name}@${request.version}`, request.input);
    const key = request.idempotencyKey === undefined ? undefined : callerKey(request.caller.tenant, request.idempotencyKey);
    const write = () =>
      options.store.create({
        executionId,
        flow: flow.name,
        version: flow.version,
        flowHash: flow.hash,
        tenant: request.caller.tenant,
        options: stored,
        correlationKey: stored.correlationKey,
        status,
        owner: options.owner,
        leaseMs: options.leaseMs,
        rows: encodeEntries(journal.entries, 0, options.clean),
        idempotency:
          key === undefined ? undefined : { key, fingerprint: print!, ttlMs: options.idempotencyTtlMs },
      });
    // Queued work passes the queue bounds, and a flow that can wait the waiting bound; a run that
    // starts now is bounded by MAX_INFLIGHT_EXECUTIONS too.
    const tenant = request.caller.tenant;
    const waits = flow.waits.durable;
    // A full bound does not stop the replay of a request whose execution exists already (the key).
    const created =
      status === 'queued' ? await options.admission.queue(tenant, 'api', write, { waits, key }) : waits ? await options.admission.startWaiting(tenant, 'api', write, { key }) : await write();
    if (created.created) return { kind: 'created', journal, lease: created.lease };
    if (created.fingerprint !== print) {
      throw new FlowdError('FLOWD_ERR_IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was already used for a different request; use a new key', {
        details: { executionId: created.executionId },
      });
    }
    return { kind: 'existing', outcome: await this.#replay(created.executionId, request) };
  }

  async #replay(executionId: string, request: RunRequest): Promise<RunOutcome> {
    const found = await this.#options.reads.find(executionId, request.caller);
    const record = found === undefined ? undefined : this.#options.reads.view(found, false);
    if (record !== undefined && TERMINAL_STATUSES.has(record.status)) return { kind: 'replayed', record };
    return { kind: 'in_progress', executionId, status: record?.status ?? 'running' };
  }
}

/** The current version of a flow, or the version asked for; FLOWD_ERR_FLOW_NOT_FOUND names the closest flow, or the loaded versions. */
export function findFlow(flows: FlowCatalog, name: string, version: string | undefined): CompiledFlow {
  const flow = version === undefined ? flows.get(name) : flows.getVersion(name, version);
  if (flow !== undefined) return flow;
  const versions = flows.versionsOf(name).map((loaded) => loaded.version);
  if (version === undefined || versions.length === 0) {
    throw new FlowdError('FLOWD_ERR_FLOW_NOT_FOUND', `no flow named "${name}" is loaded${didYouMean(name, [...flows.keys()])}; GET /flows lists them`);
  }
  throw new FlowdError('FLOWD_ERR_FLOW_NOT_FOUND', `flow "${name}" has no version "${version}" loaded (loaded versions: ${versions.join(', ')})`);
}

export function validate(flow: CompiledFlow, input: unknown): void {
  const issues = flow.validateInput(input);
  if (issues !== undefined) {
    throw new InputValidationError(`input does not match the schema of flow "${flow.name}": ${issues.map((issue) => `${issue.path} ${issue.message}`).join('; ')}`, issues);
  }
}

function storedOptions(request: RunRequest): StoredOptions {
  return { ...request.options, requestId: request.requestId, traceparent: request.traceparent };
}

/** True if `done` settles within `ms`, else false (the execution goes on). */
async function within(done: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([done.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

