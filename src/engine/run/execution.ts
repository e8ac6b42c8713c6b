import { CancelledError, FlowdError, LeaseLostError, TimeoutError, toFlowdError } from '../../errors.js';
import type { CompiledFlow } from '../../flows/compiled.js';
import { isoTime } from '../iso-time.js';
import type { EntryDraft, ExecutionFinishedEntry, ExecutionStartedEntry, NewEntry, RunSuspendedEntry } from '../journal/entries.js';
import { captureFor, Journal } from '../journal/journal.js';
import { JournalLogger } from '../journal/journal-logger.js';
import { checkpointsOf } from '../journal/checkpoints.js';
import { recordView } from '../journal/record-view.js';
import type { FlowLogger } from '../logger.js';
import type { FlowContext } from '../middleware.js';
import type { CompensationRecord, ErrorSummary, ExecutionRecord, TerminalStatus } from '../record.js';
import type { ChildExecuteOptions, EngineRuntime, ExecutionObserver, RunSuspension } from '../runtime.js';
import { runCompensations } from './compensation.js';
import type { ExecutionContext, PendingCompensation } from './context.js';
import { evaluateOrFail, runDependencies } from './dependencies.js';
import { PhaseRunner } from './phase-runner.js';
import { recover } from './recovery.js';
import { SuspendRun } from './suspension.js';
import { PhaseFailure, summarize, type Scope } from './scope.js';
import { traceParentOf } from '../trace-context.js';
import { Canceller, type Cancellation } from '../cancellation.js';
import { setEvaluationGroup } from '../../expressions/index.js';

/**
 * One run of one flow: appends what happens to its journal, walks the phase tree (PhaseRunner),
 * keeps the deadline and cancellation, and on failure compensates (transactional flows) and
 * recovers (`recovery_flow`). Its record is a view of the journal.
 */
export class Execution implements ExecutionContext {
  readonly executionId: string;
  readonly journal: Journal;
  readonly logger: FlowLogger;
  #context: FlowContext | undefined;
  readonly pending: PendingCompensation[] = [];
  outputBytes = 0;
  readonly deadlineAt: number;
  readonly runner: PhaseRunner;
  /** Aborted on deadline, cancel() or abort(); its AbortSignal is made only when something reads it. */
  readonly #canceller = new Canceller();
  readonly #timer: NodeJS.Timeout | undefined;
  readonly #scope: Scope;
  /** The body ran to its end (not abandoned on a lost lease): the observer's onFinish is due. */
  #ended = false;
  /** The run's last entry is written (`execution_finished` or `run_abandoned`). */
  #closed = false;
  /** Removes the listener on the caller's signal (long-lived: a parent execution's, a lease's). */
  #detachCaller: (() => void) | undefined;
  #view: { length: number; record: ExecutionRecord } | undefined;

  constructor(
    readonly runtime: EngineRuntime,
    readonly flow: CompiledFlow,
    readonly input: unknown,
    readonly options: ChildExecuteOptions,
  ) {
    const now = runtime.clock.now();
    const executionId = options.journal?.length ? options.journal.executionId : (options.executionId ?? runtime.newId());
    this.executionId = executionId;
    this.journal = options.journal ?? new Journal(clockOf(runtime), captureFor(runtime.capture, flow.capture), runtime.sinks);
    if (this.journal.length === 0) this.journal.append(startedEntry(flow, executionId, input, options));
    // Every run of the execution (its first, and each resume) starts with its own entry.
    this.journal.append({ type: 'run_started', run: countRuns(this.journal) + 1 });
    const traceId = this.journal.started.traceId;
    const bindings: Record<string, unknown> = { executionId, flow: flow.name };
    if (options.requestId !== undefined) bindings['reqId'] = options.requestId;
    if (traceId !== undefined) bindings['traceId'] = traceId;
    this.logger = new JournalLogger(this.journal, childLoggerOf(runtime, bindings));
    const ownTimeout = Math.min(flow.timeoutMs, options.timeoutMs ?? Infinity);
    this.deadlineAt = Math.min(now + ownTimeout, options.deadlineAt ?? Infinity);
    const remaining = Math.max(0, this.deadlineAt - now);
    this.runner = new PhaseRunner(this, restoreFrom(options));
    this.#timer = setTimeout(() => {
      const phase = this.runner.runningPhase;
      this.#canceller.abort(
        new TimeoutError('flow', `flow "${flow.name}" exceeded its ${Math.round(remaining)} ms deadline${phase === undefined ? '' : ` while phase "${phase}" was running`}`),
      );
    }, remaining);
    this.#timer.unref?.();
    if (options.signal !== undefined) {
      const caller = options.signal;
      if (caller.aborted) this.#canceller.abort(toCancellation(caller.reason));
      else {
        const onAbort = (): void => this.#canceller.abort(toCancellation(caller.reason));
        caller.addEventListener('abort', onAbort, { once: true });
        this.#detachCaller = () => caller.removeEventListener('abort', onAbort);
      }
    }
    this.#scope = { input, phases: {}, execution: { id: executionId, flow: flow.name, version: flow.version, startedAt: isoTime(this.journal.started.at) }, deps: {} };
    // Expression workers serve tenants in turn (isolated-evaluation.ts).
    const tenant = this.journal.started.tenant;
    if (tenant !== undefined) setEvaluationGroup(this.#scope.execution, tenant);
  }

  /** The middleware's view of the execution, made when a middleware needs one. */
  get context(): FlowContext {
    if (this.#context === undefined) {
      const options = this.options;
      const context = { executionId: this.executionId, flow: this.flow, input: this.input, logger: this.logger, requestId: options.requestId, parentId: options.parentId };
      // The record is a view: read when a middleware reads it.
      this.#context = Object.defineProperty(context, 'record', { enumerable: true, get: () => this.record }) as FlowContext;
    }
    return this.#context;
  }

  /** The execution record so far (a view of the journal, rebuilt only when the journal grew). */
  get record(): ExecutionRecord {
    const length = this.journal.length;
    if (this.#view?.length !== length) this.#view = { length, record: recordView(this.journal.entries) };
    return this.#view.record;
  }

  get cancellation(): Cancellation {
    return this.#canceller;
  }

  /** This execution's observer: its own (durable runs) or else the engine's. */
  get observer(): ExecutionObserver | undefined {
    return this.options.observer ?? this.runtime.observer;
  }

  /** Aborts the execution (e.g. `POST /executions/{id}/cancel`). */
  cancel(reason = 'the execution was cancelled'): void {
    this.abort(new CancelledError(reason));
  }

  /** Stops the execution with `error` where it is (a lost lease: another worker owns it now). */
  abort(error: FlowdError): void {
    this.#canceller.abort(error);
  }

  /** Stops the deadline timer of an execution driven phase by phase (FlowTransaction) rather than by run(). */
  release(): void {
    clearTimeout(this.#timer);
    this.#detachCaller?.();
  }

  childOptions(signal: AbortSignal): ChildExecuteOptions {
    return {
      parentId: this.executionId,
      depth: (this.options.depth ?? 0) + 1,
      deadlineAt: this.deadlineAt,
      signal,
      requestId: this.options.requestId,
      traceparent: this.options.traceparent,
      enableCaching: this.options.enableCaching,
      parallelExecution: this.options.parallelExecution,
      tenant: this.options.tenant,
    };
  }

  async run(): Promise<ExecutionRecord> {
    try {
      await this.observer?.onStart?.(this.journal, this.flow);
      const { chain } = this.runtime;
      const hooks = chain.hasFlowHooks;
      if (hooks) chain.flowStarted(this.context);
      try {
        if (hooks) {
          await chain.aroundFlow(this.context, async () => {
            await this.#runBody();
            return this.record;
          });
        } else {
          await this.#runBody();
        }
      } catch (error) {
        // A flow middleware (or an observer) stopped the run before it ended: the journal says so.
        if (!this.#closed) this.#abandon(`stopped before it ended: ${toFlowdError(error).message}`);
        throw error;
      } finally {
        if (hooks) chain.flowEnded(this.context, this.record);
        // After the middleware, so what is stored includes what they added.
        if (this.#ended) await this.observer?.onFinish?.(this.journal, this.flow);
      }
      return this.record;
    } finally {
      this.release();
    }
  }

  #abandon(reason: string): void {
    this.#closed = true;
    this.journal.append({ type: 'run_abandoned', reason });
  }

  /** Ends the execution: its final entry. */
  finish(status: TerminalStatus, outcome: { output?: unknown; error?: ErrorSummary | undefined }): void {
    this.#closed = true;
    const entry: EntryDraft<ExecutionFinishedEntry> = { type: 'execution_finished', status };
    if ('output' in outcome) entry.output = outcome.output;
    if (outcome.error !== undefined) entry.error = outcome.error;
    this.journal.append(entry);
  }

  /**
   * A failure: journaled, then compensated (transactional flows with completed compensable
   * phases) and recovered (`recovery_flow`); returns how the execution ends.
   */
  async fail(thrown: unknown, scope: Scope): Promise<void> {
    const failure = thrown instanceof PhaseFailure ? thrown : undefined;
    const cause = failure?.error ?? toFlowdError(thrown);
    const error = summarize(cause, failure?.phase ?? this.runner.runningPhase, failure?.attempts);
    this.journal.append({ type: 'execution_failed', error });
    let status: TerminalStatus = cause.code === 'FLOWD_ERR_FLOW_TIMEOUT' ? 'timed_out' : cause.code === 'FLOWD_ERR_CANCELLED' ? 'cancelled' : 'failed';
    let finalError = error;
    if (this.flow.transactional && this.pending.length > 0) {
      const undone = await runCompensations(this);
      const failed = undone.filter((compensation) => compensation.status !== 'succeeded');
      status = failed.length === 0 ? 'compensated' : 'compensation_failed';
      if (failed.length > 0) finalError = compensationFailure(failed, undone.length, error);
    }
    // A recovery flow handles the forward failure (it gets that error, whatever the compensations did).
    const recovery = await recover(this, cause, error, scope);
    if (recovery?.recovered === true) this.finish(status, { output: recovery.output, error: finalError });
    else this.finish(status, { error: recovery === undefined || recovery.error === error ? finalError : recovery.error });
  }

  async #runBody(): Promise<void> {
    const scope = this.#scope;
    try {
      await runDependencies(this, scope, this.#canceller);
      const last = await this.runner.runList(this.flow.phases, scope, {}, this.#canceller);
      const output = this.flow.output === undefined ? last : await evaluateOrFail(this.flow.output, scope, 'output');
      this.finish('succeeded', { output });
    } catch (thrown) {
      // A wait stopped the run: the execution goes on later, in another run.
      if (thrown instanceof SuspendRun) {
        await this.#suspend(thrown.suspension);
        return;
      }
      // Another worker owns the execution now: stop where we are and leave the rest to it.
      if (leaseLost(thrown)) {
        this.#abandon('the lease on this execution was lost to another worker');
        return;
      }
      await this.fail(thrown, scope);
    }
    await this.#startTriggers(scope);
    this.#ended = true;
  }

  async #startTriggers(scope: Scope): Promise<void> {
    const record = this.record;
    const succeeded = record.status === 'succeeded';
    for (const trigger of this.flow.triggers) {
      if (trigger.on === 'succeeded' && !succeeded) continue;
      if (trigger.on === 'failed' && succeeded) continue;
      try {
        const input = trigger.input === undefined ? record.output : await evaluateOrFail(trigger.input, { ...scope, output: record.output }, `triggers.${trigger.flow}`);
        const id = await this.runtime.startTriggered(trigger.flow, input, { executionId: this.executionId, tenant: this.options.tenant });
        if (id !== undefined) this.journal.append({ type: 'triggered', flow: trigger.flow, executionId: id });
      } catch (error) {
        // Not started (a full queue, a bad input, a store error): the record shows it; the execution's status stands.
        this.journal.append({ type: 'trigger_refused', flow: trigger.flow, error: summarize(toFlowdError(error)) });
      }
    }
  }

  /** Ends this run at a wait: `run_suspended`, then the durable observer stores the execution `waiting`. */
  async #suspend(suspension: RunSuspension): Promise<void> {
    this.#closed = true;
    const entry: EntryDraft<RunSuspendedEntry> = { type: 'run_suspended', phase: suspension.phase, for: suspension.for, until: suspension.until };
    if (suspension.signal !== undefined) entry.signal = suspension.signal;
    this.journal.append(entry);
    try {
      await this.observer?.suspend?.(this.journal, suspension);
    } catch (error) {
      // Not stored as waiting: its lease expires and a worker resumes it from what was stored.
      this.logger.warn({ err: error, phase: suspension.phase }, 'could not store the waiting execution; it resumes when its lease expires');
    }
  }

  beforeEffect(): Promise<void> | undefined {
    const observer = this.observer;
    if (observer?.beforeEffect === undefined) return undefined;
    const result = observer.beforeEffect(this.journal);
    return result instanceof Promise ? result : undefined;
  }
}

/** What to restore: given checkpoints (a retry), or those of the journal a resumed run continues. */
function restoreFrom(options: ChildExecuteOptions): { checkpoints?: ReadonlyMap<string, unknown>; compensationRequests?: ReadonlyMap<string, unknown> } {
  if (options.checkpoints !== undefined) return { checkpoints: options.checkpoints, compensationRequests: options.compensationRequests };
  return options.journal === undefined ? {} : checkpointsOf(options.journal.entries);
}

/**
 * The error of an execution whose undo failed: it names the compensation that failed (the first,
 * newest-first), with the forward failure as its cause. 502 FLOWD_ERR_COMPENSATION_FAILED: some
 * effects of this execution are still in place and need a person.
 */
function compensationFailure(failed: readonly CompensationRecord[], total: number, forward: ErrorSummary): ErrorSummary {
  const first = failed[0]!;
  const which = first.index === undefined ? `"${first.phase}"` : `"${first.phase}" (item ${first.index})`;
  const others = failed.length > 1 ? ` and ${failed.length - 1} more` : '';
  return {
    code: 'FLOWD_ERR_COMPENSATION_FAILED',
    message: `the compensation of phase ${which}${others} failed (${total - failed.length} of ${total} undone): ${first.error?.message ?? 'no error recorded'}`,
    phase: first.phase,
    attempts: first.attempts,
    recoverable: false,
    cause: forward,
  };
}

function countRuns(journal: Journal): number {
  let runs = 0;
  for (const entry of journal.entries) if (entry.type === 'run_started') runs = entry.run;
  return runs;
}

/** An execution's first entry (also written by the durable layer for executions it queues). */
export function startedEntry(flow: CompiledFlow, executionId: string, input: unknown, options: ChildExecuteOptions): NewEntry {
  const trace = traceParentOf(options.traceparent);
  const entry: EntryDraft<ExecutionStartedEntry> = { type: 'execution_started', executionId, flow: flow.name, version: flow.version, hash: flow.hash, input };
  if (options.parentId !== undefined) entry.parentId = options.parentId;
  if (options.requestId !== undefined) entry.requestId = options.requestId;
  if (options.retryOf !== undefined) entry.retryOf = options.retryOf;
  if (options.correlationKey !== undefined) entry.correlationKey = options.correlationKey;
  if (trace !== undefined) {
    entry.traceId = trace.traceId;
    entry.parentSpanId = trace.parentSpanId;
    entry.traceFlags = trace.traceFlags;
  }
  if (options.tenant !== undefined) entry.tenant = options.tenant;
  return entry;
}

function leaseLost(thrown: unknown): boolean {
  const error = thrown instanceof PhaseFailure ? thrown.error : thrown;
  return error instanceof LeaseLostError || (error instanceof FlowdError && error.code === 'FLOWD_ERR_LEASE_LOST');
}

function toCancellation(reason: unknown): FlowdError {
  return reason instanceof FlowdError ? reason : new CancelledError('the caller cancelled the execution');
}

// Closures made in the constructor would share its scope, which holds the execution itself (its
// arrow functions use `this`): a journal kept after the run (RecentExecutions) would keep the whole
// execution alive with it — controller, runner, scope. These keep only what they use.

function clockOf(runtime: EngineRuntime): () => number {
  return () => runtime.clock.now();
}

function childLoggerOf(runtime: EngineRuntime, bindings: Record<string, unknown>): () => FlowLogger {
  return () => runtime.logger.child(bindings);
}
