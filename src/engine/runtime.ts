import type { CompiledFlow } from '../flows/compiled.js';
import type { CaptureLimits, Journal, JournalSink } from './journal/journal.js';
import type { FlowLogger } from './logger.js';
import type { MiddlewareChain } from './middleware.js';
import type { PhaseCache } from './phase-cache.js';
import type { ExecutionRecord } from './record.js';

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
}

/** Internal options of an execution started by another one. */
export interface ChildExecuteOptions extends ExecuteOptions {
  parentId?: string | undefined;
  depth?: number | undefined;
  /** Absolute deadline (clock ms) inherited from the parent. */
  deadlineAt?: number | undefined;
  /** Recovery flows do not start another recovery. */
  noRecovery?: boolean | undefined;
  /** Continue this journal (a resumed execution) instead of starting a new one. */
  journal?: Journal | undefined;
}

/** Called as an execution progresses; the durable layer persists its journal through it. */
export interface ExecutionObserver {
  onStart?(journal: Journal, flow: CompiledFlow): void | Promise<void>;
  /**
   * A phase completed; `key` identifies it across resumes (id, map index, loop iteration).
   * `compensable.request` is the request a compensable call phase sent (needed to undo it after a resume).
   * Throwing LeaseLostError stops the execution without compensation, recovery or triggers.
   */
  onCheckpoint?(journal: Journal, key: string, output: unknown, compensable?: { request: unknown }): void | Promise<void>;
  /** The execution ended (its journal's last entry is `execution_finished`, or `triggered`). */
  onFinish?(journal: Journal, flow: CompiledFlow): void | Promise<void>;
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
  readonly maxSubflowDepth: number;
  readonly maxMapItems: number;
  runChild(flow: string, input: unknown, options: ChildExecuteOptions): Promise<ExecutionRecord>;
  startTriggered(flow: string, input: unknown, parentId: string): Promise<string | undefined>;
  /** The latest succeeded execution of `flow` (for `depends_on` with `within_ms`); undefined when none. */
  findSucceeded: FindSucceeded | undefined;
}

/** Looks up the newest succeeded execution of `flow` with this correlation key that finished within `withinMs`. */
export type FindSucceeded = (flow: string, correlationKey: string | undefined, withinMs: number) => Promise<ExecutionRecord | undefined>;
