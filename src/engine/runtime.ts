import type { CompiledFlow } from '../flows/compiled.js';
import type { CaptureLimits, Journal, JournalSink } from './journal/journal.js';
import type { OutputLimits } from './run/output-limits.js';
import type { FlowLogger } from './logger.js';
import type { MiddlewareChain } from './middleware.js';
import type { PhaseCache } from './phase-cache.js';
import type { AttemptTraceSource } from './trace-context.js';
import type { ExecutionRecord } from './record.js';
import type { WaitFor } from './journal/entries.js';

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Per-call options; the seed's `enable_caching`, `parallel_execution` and a deadline. */
export interface ExecuteOptions {
  /** Shortens the flow's deadline; never lengthens it. */
  timeoutMs?: number | undefined;
  /** false bypasses phase caches for this execution. Default true. */
  enableCaching?: boolean | undefined;
  /** false runs parallel blocks and maps one at a time. Default true. */
  parallelExecution?: boolean | undefined;
  /** Cancels the execution when aborted. */
  signal?: AbortSignal | undefined;
  requestId?: string | undefined;
  /** Recorded on the execution: the one it re-runs (`POST /executions/{id}/retry`). */
  retryOf?: string | undefined;
  traceparent?: string | undefined;
  /** Use this id instead of generating one (the durable store assigns ids before running). */
  executionId?: string | undefined;
  /** Outputs of phases that already completed (resume after a crash): they are not run again. */
  checkpoints?: ReadonlyMap<string, unknown> | undefined;
  /**
   * Requests sent by restored phases that can be compensated (same keys as `checkpoints`), so a
   * resumed transactional execution that fails still undoes the phases completed before the crash.
   */
  compensationRequests?: ReadonlyMap<string, unknown> | undefined;
  /**
   * Observes this execution only, instead of the engine-wide observer (the durable layer passes
   * one holding the execution's lease; its `onCheckpoint` may throw LeaseLostError to stop the run).
   */
  observer?: ExecutionObserver | undefined;
  /** Recorded on the execution; `depends_on` with `within_ms` looks prerequisites up by it. */
  correlationKey?: string | undefined;
  /** Who the execution runs for (an API key's tenant); recorded, and inherited by sub-flows, recovery and triggered flows. */
  tenant?: string | undefined;
}

/** Internal options of an execution started by another one. */
export interface ChildExecuteOptions extends ExecuteOptions {
  parentId?: string | undefined;
  depth?: number | undefined;
  /** Absolute deadline (clock ms) inherited from the parent. */
  deadlineAt?: number | undefined;
  /** Recovery flows do not start another recovery. */
  noRecovery?: boolean | undefined;
  /**
   * Continue this journal instead of starting a new one: a queued or resumed execution (its
   * completed phases are restored from it), or one the durable layer wrote before it runs.
   */
  journal?: Journal | undefined;
}

/** Called as an execution progresses; the durable layer persists its journal through it. */
export interface ExecutionObserver {
  /** The execution's first entry is in its journal (or a resumed run's `run_started`). */
  onStart?(journal: Journal, flow: CompiledFlow): void | Promise<void>;
  /**
   * A call with side effects (a non-pure component, a compensation) is about to be made: what the
   * journal holds so far must be durable first (write-ahead). Throwing LeaseLostError stops the
   * execution without compensation, recovery or triggers.
   */
  beforeEffect?(journal: Journal): void | Promise<void>;
  /** The execution ended (its journal's last entries are `execution_finished` and any `triggered`). */
  onFinish?(journal: Journal, flow: CompiledFlow): void | Promise<void>;
  /**
   * Durable runs (docs/waits.md): this run stops at a wait (its last entry is `run_suspended`); the
   * execution is stored `waiting` and resumed from its journal when due or signalled. Without it,
   * a wait longer than the run's deadline fails with FLOWD_ERR_WAIT_NOT_DURABLE.
   */
  suspend?(journal: Journal, suspension: RunSuspension): Promise<void>;
  /** Durable runs: the signal `name` for the wait `key` (the same one again after a crash), or undefined. */
  takeSignal?(journal: Journal, name: string, key: string): Promise<ReceivedSignal | undefined>;
  /** Durable runs: a callback token (by its SHA-256) for the wait `key`, usable until `expiresAt` (engine clock). */
  registerCallback?(journal: Journal, callback: { readonly tokenHash: string; readonly key: string; readonly signal: string; readonly expiresAt: number }): Promise<void>;
}

/** Where and until when a suspended run waits. */
export interface RunSuspension {
  readonly phase: string;
  readonly for: WaitFor;
  /** Engine clock, ms. */
  readonly until: number;
  readonly signal?: string | undefined;
}

/** A signal a wait took. */
export interface ReceivedSignal {
  readonly payload: unknown;
  /** Store clock, ms. */
  readonly receivedAt: number;
}

/** What an execution needs from the engine that owns it. */
export interface EngineRuntime {
  readonly chain: MiddlewareChain;
  readonly cache: PhaseCache;
  readonly clock: Clock;
  readonly random: () => number;
  readonly newId: () => string;
  readonly logger: FlowLogger;
  readonly observer: ExecutionObserver | undefined;
  /** What executions capture by default (a flow's `capture` overrides the policy). */
  readonly capture: CaptureLimits;
  /** Told of every journal entry (metrics, the process log). */
  readonly sinks: readonly JournalSink[];
  /** Each attempt's outgoing traceparent (tracing); undefined: a child of the caller's. */
  readonly trace: AttemptTraceSource | undefined;
  /** Bounds on phase outputs (MAX_PHASE_OUTPUT_BYTES, MAX_RECORD_BYTES); undefined: unbounded. */
  readonly outputLimits: OutputLimits | undefined;
  readonly maxSubflowDepth: number;
  readonly maxMapItems: number;
  /** Waits shorter than this sleep in the run instead of suspending it (docs/waits.md). */
  readonly waitInlineMs: number;
  /** The URL a callback token is delivered to (`callback.url`); undefined: only `callback.token` is given. */
  readonly callbackUrl: ((token: string) => string) | undefined;
  runChild(flow: string, input: unknown, options: ChildExecuteOptions): Promise<ExecutionRecord>;
  startTriggered(flow: string, input: unknown, parent: TriggerParent): Promise<string | undefined>;
  /** The latest succeeded execution of `flow` (for `depends_on` with `within_ms`); undefined when none. */
  findSucceeded: FindSucceeded | undefined;
  /** Marks a definition in use until the returned release is called: its components are not closed meanwhile. */
  hold(flow: CompiledFlow): () => void;
}

/** The execution that triggers a dependent flow. */
export interface TriggerParent {
  readonly executionId: string;
  readonly tenant: string | undefined;
}

/** Looks up the newest succeeded execution of `flow` with this correlation key that finished within `withinMs`. */
export type FindSucceeded = (flow: string, correlationKey: string | undefined, withinMs: number, tenant: string | undefined) => Promise<{ readonly output: unknown } | undefined>;
