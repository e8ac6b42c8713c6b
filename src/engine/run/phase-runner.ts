import { LimitExceededError, toFlowdError } from '../../errors.js';
import type { EntryDraft as Mutable, PhaseEndedEntry, PhaseStartedEntry } from '../journal/entries.js';
import type { CompiledPhase } from '../../flows/compiled.js';
import type { Cancellation } from '../cancellation.js';
import { isoTime } from '../iso-time.js';
import { LivePhaseContext } from '../middleware.js';
import { runKind } from '../phases/index.js';
import type { ErrorSummary, PhaseRecord, PhaseStatus } from '../record.js';
import type { ExecutionContext, KindContext, KindResult, PhaseRun } from './context.js';
import { checkOutput } from './output-limits.js';
import { SuspendRun } from './suspension.js';
import { checkpointKey, PhaseFailure, summarize, type Location, type Scope } from './scope.js';

/** Runs phase lists and single phases of one execution, writing each phase run to the journal. */
export class PhaseRunner {
  /** Which phase was running last (named when the deadline passes). */
  runningPhase: string | undefined;

  /** Outputs of phases completed in an earlier run (resume) or reused by a retry, by checkpoint key. */
  readonly #checkpoints: ReadonlyMap<string, unknown> | undefined;
  readonly #compensationRequests: ReadonlyMap<string, unknown> | undefined;

  constructor(
    readonly execution: ExecutionContext,
    restore: { checkpoints?: ReadonlyMap<string, unknown> | undefined; compensationRequests?: ReadonlyMap<string, unknown> | undefined },
  ) {
    this.#checkpoints = restore.checkpoints;
    this.#compensationRequests = restore.compensationRequests;
  }

  readonly runList = async (phases: readonly CompiledPhase[], scope: Scope, location: Location, cancellation: Cancellation): Promise<unknown> => {
    let last: unknown;
    let position = 0;
    let passes: Map<string, number> | undefined;
    while (position < phases.length) {
      const phase = phases[position]!;
      const iteration = passes?.get(phase.id);
      const result = await this.runPhase(phase, scope, iteration === undefined ? location : { ...location, iteration }, cancellation);
      last = result.output;
      if (result.goto === undefined) {
        position += 1;
        continue;
      }
      const target = phases.findIndex((candidate) => candidate.id === result.goto!.target);
      passes ??= new Map();
      const key = `${phase.id}->${result.goto.target}`;
      const count = (passes.get(key) ?? 0) + 1;
      if (result.goto.max !== undefined && count > result.goto.max) {
        throw new PhaseFailure(new LimitExceededError(`decision "${phase.id}" looped more than max_iterations (${result.goto.max})`), phase.id, 0);
      }
      passes.set(key, count);
      for (const later of phases.slice(target)) passes.set(later.id, (passes.get(later.id) ?? 0) + 1);
      position = target;
    }
    return last;
  };

  /** Runs one phase of any kind inside the phase middleware, and journals it. */
  async runPhase(phase: CompiledPhase, scope: Scope, location: Location, cancellation: Cancellation): Promise<KindResult> {
    const key = checkpointKey(phase.id, location);
    // A cancelled resume still restores what completed before (a cancelled waiting execution compensates it).
    if (cancellation.aborted && (phase.kind === 'decision' || this.#checkpoints?.has(key) !== true)) throw toFlowdError(cancellation.reason);
    const execution = this.execution;
    const journal = execution.journal;
    // Optional fields set one by one: a literal with conditional spreads takes a slow V8 path.
    const started: Mutable<PhaseStartedEntry> = { type: 'phase_started', phase: phase.id, kind: phase.kind, key };
    if (location.index !== undefined) started.index = location.index;
    if (location.iteration !== undefined) started.iteration = location.iteration;
    if (phase.kind === 'call') started.component = phase.component.name;
    const ref = journal.append(started);
    const restored = phase.kind === 'decision' ? undefined : this.#checkpoints?.get(key);
    if (restored !== undefined) return this.#restore(phase, scope, location, key, ref, restored);
    this.runningPhase = phase.id;
    const state = new PhaseState(ref, key, journal.now());
    let goto: KindResult['goto'];
    const kindContext: KindContext = { execution, scope, location, cancellation, run: state, runList: this.runList };
    const chain = execution.runtime.chain;
    let phaseContext: LivePhaseContext | undefined;
    let output: unknown;
    let failure: PhaseFailure | undefined;
    try {
      if (!chain.hasPhaseHooks) {
        // No phase middleware (the usual case): the kind runs without the closure and the extra
        // await the hooks need (measured: a few % of a small flow's CPU). A failure is made a
        // PhaseFailure below, as `work` does.
        try {
          const outcome = await runKind(phase, kindContext);
          goto = outcome.goto;
          output = outcome.output;
        } finally {
          state.settle(journal.now());
        }
      } else {
        const work = async (): Promise<unknown> => {
          try {
            const outcome = await runKind(phase, kindContext);
            goto = outcome.goto;
            state.status = 'succeeded';
            return outcome.output;
          } catch (thrown) {
            // A wait stops the run here: not a failure, and the phase has not ended.
            if (thrown instanceof SuspendRun) throw thrown;
            throw state.fail(thrown, phase.id);
          } finally {
            state.settle(journal.now());
          }
        };
        phaseContext = new LivePhaseContext(execution.context, phase, () => state.toRecord(phase, location));
        output = chain.hasAroundPhase ? await chain.aroundPhase(phaseContext, work) : await work();
        // Checked as the phase hooks return it: what they replaced or added is bounded too.
        chain.checkOutput(phaseContext, output);
      }
      const limits = execution.runtime.outputLimits;
      if (limits !== undefined) execution.outputBytes = checkOutput(limits, phase, output, execution.outputBytes);
      state.status = 'succeeded';
      scope.phases[phase.id] = output;
    } catch (thrown) {
      if (thrown instanceof SuspendRun) {
        this.runningPhase = undefined;
        throw thrown;
      }
      failure = state.fail(thrown, phase.id);
    }
    // Settled when the kind returned (a phase hook may have failed it without running it).
    if (state.finishedAt === undefined) state.settle(journal.now());
    journal.append(state.ended(failure === undefined && phase.kind !== 'decision' ? { output } : undefined));
    if (phaseContext !== undefined) chain.phaseEnded(phaseContext, failure === undefined ? output : undefined);
    if (failure !== undefined) throw failure;
    return goto === undefined ? { output } : { output, goto };
  }

  /** A phase completed before a crash (or in the run a retry reuses): its output is taken, not produced again. */
  #restore(phase: CompiledPhase, scope: Scope, location: Location, key: string, ref: number, output: unknown): KindResult {
    const execution = this.execution;
    scope.phases[phase.id] = output;
    let compensable: { request: unknown } | undefined;
    const requests = this.#compensationRequests;
    if (phase.kind === 'call' && phase.compensate !== undefined && execution.flow.transactional && requests?.has(key) === true) {
      const request = requests.get(key);
      compensable = { request };
      execution.pending.push({ phase, ref, index: location.index, key, scope, request, output });
    }
    execution.journal.append({
      type: 'phase_ended',
      ref,
      status: 'succeeded',
      attempts: 0,
      output,
      restored: true,
      ...(compensable === undefined ? {} : { compensable }),
    });
    return { output };
  }
}

/** One phase run in progress: the facts its `phase_ended` entry will carry. */
class PhaseState implements PhaseRun {
  attempts = 0;
  cached: boolean | undefined;
  fallback: boolean | undefined;
  branch: string | undefined;
  childExecutionId: string | undefined;
  error: ErrorSummary | undefined;
  compensable: { readonly request: unknown } | undefined;
  status: Exclude<PhaseStatus, 'compensated'> = 'running';
  finishedAt: number | undefined;
  readonly #started = performance.now();
  #durationMs: number | undefined;

  constructor(
    readonly ref: number,
    readonly key: string,
    readonly startedAt: number,
  ) {}

  fail(thrown: unknown, phase: string): PhaseFailure {
    const failure = thrown instanceof PhaseFailure ? thrown : new PhaseFailure(toFlowdError(thrown), phase, this.attempts);
    // Stopped by a cancellation (the caller, or a failing sibling in a parallel block or map), not failed on its own.
    this.status = failure.error.code === 'FLOWD_ERR_CANCELLED' ? 'cancelled' : 'failed';
    this.error ??= summarize(failure.error, undefined, this.attempts);
    return failure;
  }

  settle(now: number): void {
    this.finishedAt ??= now;
    this.#durationMs ??= Math.round((performance.now() - this.#started) * 1000) / 1000;
  }

  ended(output: { output: unknown } | undefined): Mutable<PhaseEndedEntry> {
    const entry: Mutable<PhaseEndedEntry> = { type: 'phase_ended', ref: this.ref, status: this.status === 'running' ? 'succeeded' : this.status, attempts: this.attempts };
    if (output !== undefined) entry.output = output.output;
    if (this.error !== undefined) entry.error = this.error;
    if (this.cached !== undefined) entry.cached = this.cached;
    if (this.fallback === true) entry.fallback = true;
    if (this.branch !== undefined) entry.branch = this.branch;
    if (this.childExecutionId !== undefined) entry.childExecutionId = this.childExecutionId;
    if (this.compensable !== undefined && this.status === 'succeeded') entry.compensable = this.compensable;
    return entry;
  }

  /** The phase's timeline entry as middleware sees it (final once the phase settled). */
  toRecord(phase: CompiledPhase, location: Location): PhaseRecord {
    const record: PhaseRecord = { id: phase.id, kind: phase.kind, status: this.status, attempts: this.attempts, startedAt: isoTime(this.startedAt) };
    if (location.index !== undefined) record.index = location.index;
    if (location.iteration !== undefined) record.iteration = location.iteration;
    if (this.finishedAt !== undefined) record.finishedAt = isoTime(this.finishedAt);
    if (this.#durationMs !== undefined) record.durationMs = this.#durationMs;
    if (phase.kind === 'call') record.component = phase.component.name;
    if (this.cached !== undefined) record.cached = this.cached;
    if (this.fallback === true) record.fallback = true;
    if (this.branch !== undefined) record.branch = this.branch;
    if (this.childExecutionId !== undefined) record.childExecutionId = this.childExecutionId;
    if (this.error !== undefined) record.error = this.error;
    return record;
  }
}
