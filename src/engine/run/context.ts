import type { CallPhase, CompiledFlow, CompiledPhase } from '../../flows/compiled.js';
import type { Cancellation } from '../cancellation.js';
import type { Journal } from '../journal/journal.js';
import type { FlowLogger } from '../logger.js';
import type { FlowContext } from '../middleware.js';
import type { ErrorSummary } from '../record.js';
import type { ChildExecuteOptions, EngineRuntime, ExecutionObserver } from '../runtime.js';
import type { Location, Scope } from './scope.js';

/** A completed phase whose effect can be undone. */
export interface PendingCompensation {
  readonly phase: CallPhase;
  /** The journal position of the phase's `phase_started`. */
  readonly ref: number;
  readonly index: number | undefined;
  readonly key: string;
  readonly scope: Scope;
  readonly request: unknown;
  readonly output: unknown;
}

/** What phase kinds and the run helpers see of the execution they belong to. */
export interface ExecutionContext {
  readonly executionId: string;
  readonly flow: CompiledFlow;
  readonly journal: Journal;
  readonly runtime: EngineRuntime;
  readonly options: ChildExecuteOptions;
  readonly logger: FlowLogger;
  /** The middleware's view of the execution (events carry it). */
  readonly context: FlowContext;
  /** Completed compensable phases, oldest first. */
  readonly pending: PendingCompensation[];
  /** This run's deadline (engine clock, ms): a wait past it suspends, or fails when it cannot. */
  readonly deadlineAt: number;
  /** The execution's own observer, else the engine's (durable runs: the store). */
  readonly observer: ExecutionObserver | undefined;
  /** Bytes of output its call and sub-flow phases produced so far (MAX_RECORD_BYTES). */
  outputBytes: number;
  /** Options for a sub-flow or prerequisite started by this execution. */
  childOptions(signal: AbortSignal): ChildExecuteOptions;
  /**
   * Called before a call with side effects: resolves once the journal so far is durable (when the
   * execution is durable), or undefined when there is nothing to wait for.
   */
  beforeEffect(): Promise<void> | undefined;
}

/** The facts of one phase run as it goes; written to the journal as `phase_ended` when it ends. */
export interface PhaseRun {
  /** The journal position of its `phase_started`. */
  readonly ref: number;
  readonly key: string;
  attempts: number;
  cached?: boolean | undefined;
  fallback?: boolean | undefined;
  branch?: string | undefined;
  childExecutionId?: string | undefined;
  /** Why a phase that fell back failed (the phase itself succeeded). */
  error?: ErrorSummary | undefined;
  /** A compensable call's request, for its compensation (also after a resume). */
  compensable?: { readonly request: unknown } | undefined;
}

export interface KindResult {
  readonly output: unknown;
  /** A decision branch asked to jump back (or forward) in the enclosing phase list. */
  readonly goto?: { readonly target: string; readonly max: number | undefined } | undefined;
}

/** The narrow context a phase kind runs with. */
export interface KindContext {
  readonly execution: ExecutionContext;
  readonly scope: Scope;
  readonly location: Location;
  /** Aborted on deadline, cancellation, or a failing sibling (`.signal` makes a real AbortSignal of it). */
  readonly cancellation: Cancellation;
  readonly run: PhaseRun;
  /** Runs nested phases in order (decision branches, parallel branches, map items). */
  runList(phases: readonly CompiledPhase[], scope: Scope, location: Location, cancellation: Cancellation): Promise<unknown>;
}

/** One phase kind: how a compiled phase of that kind runs. */
export type KindRunner<P extends CompiledPhase> = (phase: P, ctx: KindContext) => Promise<KindResult>;
