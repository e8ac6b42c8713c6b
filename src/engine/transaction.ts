import { FlowExecutionError, FlowdError, InputValidationError, toFlowdError } from '../errors.js';
import { isoTime } from './iso-time.js';
import type { CompiledFlow, CompiledPhase } from '../flows/compiled.js';
import { runCompensations } from './run/compensation.js';
import { Execution } from './run/execution.js';
import { PhaseFailure, summarize, type Scope } from './run/scope.js';
import type { CompensationRecord, ErrorSummary, ExecutionRecord, TerminalStatus } from './record.js';
import type { EngineRuntime, ExecuteOptions } from './runtime.js';

/** Options of `engine.transaction(flow, options)`. */
export interface TransactionOptions
  extends Pick<ExecuteOptions, 'timeoutMs' | 'enableCaching' | 'parallelExecution' | 'signal' | 'requestId' | 'traceparent' | 'executionId'> {
  /**
   * The transaction's input, validated against the flow's input schema and recorded as the
   * execution's input (and handed to a recovery flow through `FlowExecutionError.context`).
   * Default: the input given to the first `executePhase`, not validated.
   */
  readonly input?: unknown;
}

export type TransactionState = 'open' | 'failed' | 'committed' | 'rolled_back';

/**
 * What a failed `executePhase` puts in `FlowExecutionError.context`: the shape a recovery flow
 * receives (`error`, `input`, `phases`) plus where it came from.
 */
export interface TransactionFailureContext {
  readonly executionId: string;
  readonly flow: string;
  readonly error: NonNullable<ExecutionRecord['error']>;
  readonly input: unknown;
  readonly phases: Record<string, unknown>;
}

/**
 * The seed's `flow_manager.transaction()`: runs a flow's top-level phases one at a time, under
 * the caller's control, then commits or rolls back. Each phase runs exactly as in a normal
 * execution (request mapping, cache, retry ∘ breaker ∘ bulkhead ∘ per-attempt timeout, phase
 * deadline, fallback, phase middleware); every completed phase that declares `compensate` is
 * remembered (whether or not the flow file says `transactional`), and `rollback()` runs those
 * compensations newest first, once each, with the engine's compensation machinery.
 *
 *   const tx = engine.transaction('order');
 *   try {
 *     const hold = await tx.executePhase('reserve', order);
 *     await tx.executePhase('charge', { order, hold });
 *     await tx.commit();
 *   } catch (error) {
 *     await tx.rollback();
 *     if (error instanceof FlowExecutionError && error.isRecoverable) … error.context …
 *   }
 *
 * Each `executePhase(id, input)` gives the phase `input` as `input`; outputs of the phases run
 * before are visible as `phases.<id>`. The transaction has the flow's deadline (`timeout_ms`,
 * shortened by `options.timeoutMs`), counted from `engine.transaction()`. One phase at a time.
 * Flow middleware (`flow` hooks) and the flow's `output`, recovery flow and triggers do not apply:
 * the caller is the flow here. The record (`tx.record`) is the usual ExecutionRecord.
 */
export class FlowTransaction {
  readonly #runtime: EngineRuntime;
  readonly #flow: CompiledFlow;
  /** The definition as the engine knows it (held in use while a phase or the rollback runs). */
  readonly #definition: CompiledFlow;
  readonly #options: TransactionOptions & { executionId: string; deadlineAt: number };
  readonly #phases: Record<string, unknown> = {};
  readonly #runs = new Map<string, number>();
  readonly #inputGiven: boolean;
  /** Made at the first phase (its input is the execution's when none was given), or at commit/rollback. */
  #execution: Execution | undefined;
  #state: TransactionState = 'open';
  #busy = false;
  #lastOutput: unknown;
  #rollback: Promise<CompensationRecord[]> | undefined;
  #observedStart: Promise<void> = Promise.resolve();

  /** Use `engine.transaction(flow, options)`. */
  constructor(runtime: EngineRuntime, flow: CompiledFlow, options: TransactionOptions = {}) {
    this.#inputGiven = 'input' in options;
    if (this.#inputGiven) {
      const issues = flow.validateInput(options.input);
      if (issues !== undefined) {
        throw new InputValidationError(`input does not match the schema of flow "${flow.name}": ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`, issues);
      }
    }
    this.#runtime = runtime;
    // Compensations are recorded for every compensable phase: rolling back is the point of a transaction.
    this.#flow = flow.transactional ? flow : { ...flow, transactional: true };
    this.#definition = flow;
    // The deadline counts from here, whenever the first phase runs.
    const now = runtime.clock.now();
    const deadlineAt = now + Math.min(flow.timeoutMs, options.timeoutMs ?? Infinity);
    this.#options = { ...options, executionId: options.executionId ?? runtime.newId(), deadlineAt };
  }

  get executionId(): string {
    return this.#options.executionId;
  }

  get state(): TransactionState {
    return this.#state;
  }

  /** The execution record: phases run so far, then the final status after commit/rollback. */
  get record(): ExecutionRecord {
    return this.#ensure(undefined).record;
  }

  /**
   * Runs one top-level phase of the flow with `input` and returns its output. On failure the
   * transaction is `failed` (only `rollback()` is left) and this throws a FlowExecutionError
   * (code, phase, attempts, `isRecoverable`, `context` for a recovery flow, the cause kept).
   */
  async executePhase(phaseId: string, input: unknown): Promise<unknown> {
    this.#assert('open', `execute phase "${phaseId}"`);
    const phase = this.#flow.phases.find((candidate) => candidate.id === phaseId);
    if (phase === undefined) {
      throw new FlowdError(
        'FLOWD_ERR_REQUEST_INVALID',
        `flow "${this.#flow.name}" has no top-level phase "${phaseId}" (it has: ${this.#flow.phases.map((p) => p.id).join(', ')})`,
      );
    }
    if (this.#busy) throw new FlowdError('FLOWD_ERR_REQUEST_INVALID', `transaction ${this.executionId}: one phase at a time (await the previous executePhase)`);
    this.#busy = true;
    const release = this.#runtime.hold(this.#definition);
    try {
      const execution = this.#ensure(input);
      await this.#observedStart;
      return await this.#run(execution, phase, input);
    } finally {
      release();
      this.#busy = false;
    }
  }

  /** Keeps what the phases did: the execution ends `succeeded` with the last phase's output. */
  async commit(): Promise<ExecutionRecord> {
    this.#assert('open', 'commit');
    this.#state = 'committed';
    const execution = this.#ensure(undefined);
    execution.pending.length = 0;
    return this.#end(execution, 'succeeded', { output: this.#lastOutput });
  }

  /**
   * Undoes the completed phases newest first (each compensation once, under its own retry policy
   * and time budget, continuing past a failed one). The execution ends `compensated` or
   * `compensation_failed` (or `failed`/`timed_out`/`cancelled` when there was nothing to undo).
   * Safe to call again: later calls return the same compensation records.
   */
  rollback(): Promise<CompensationRecord[]> {
    this.#rollback ??= this.#undo();
    return this.#rollback;
  }

  async #undo(): Promise<CompensationRecord[]> {
    this.#assert(['open', 'failed'], 'roll back');
    const execution = this.#ensure(undefined);
    this.#state = 'rolled_back';
    const failedWith = execution.record.error;
    const code = failedWith?.code;
    let status: TerminalStatus = code === undefined ? 'cancelled' : code === 'FLOWD_ERR_FLOW_TIMEOUT' ? 'timed_out' : code === 'FLOWD_ERR_CANCELLED' ? 'cancelled' : 'failed';
    let compensations: CompensationRecord[] = [];
    if (execution.pending.length > 0) {
      const release = this.#runtime.hold(this.#definition);
      try {
        compensations = await runCompensations(execution);
      } finally {
        release();
      }
      status = compensations.every((c) => c.status === 'succeeded') ? 'compensated' : 'compensation_failed';
    }
    await this.#end(execution, status, { error: failedWith });
    return compensations;
  }

  /** The execution, made on first use (its start is journaled then, and observed). */
  #ensure(input: unknown): Execution {
    if (this.#execution !== undefined) return this.#execution;
    const execution = new Execution(this.#runtime, this.#flow, this.#inputGiven ? this.#options.input : input, this.#options);
    this.#execution = execution;
    this.#observedStart = Promise.resolve(execution.observer?.onStart?.(execution.journal, this.#flow));
    return execution;
  }

  async #run(execution: Execution, phase: CompiledPhase, input: unknown): Promise<unknown> {
    const started = execution.journal.started;
    const scope: Scope = {
      input,
      phases: this.#phases,
      execution: { id: started.executionId, flow: started.flow, version: started.version, startedAt: isoTime(started.at) },
      deps: {},
    };
    const runs = this.#runs.get(phase.id);
    this.#runs.set(phase.id, (runs ?? 0) + 1);
    try {
      const { output } = await execution.runner.runPhase(phase, scope, runs === undefined ? {} : { iteration: runs }, execution.cancellation);
      this.#lastOutput = output;
      return output;
    } catch (thrown) {
      const failure = thrown instanceof PhaseFailure ? thrown : new PhaseFailure(toFlowdError(thrown), phase.id, 0);
      this.#state = 'failed';
      const error = summarize(failure.error, failure.phase, failure.attempts);
      execution.journal.append({ type: 'execution_failed', error });
      const context: TransactionFailureContext = {
        executionId: started.executionId,
        flow: started.flow,
        error,
        input: execution.input,
        phases: { ...this.#phases },
      };
      throw new FlowExecutionError(failure.error, { phase: failure.phase, attempts: failure.attempts, context: { ...context } });
    }
  }

  async #end(execution: Execution, status: TerminalStatus, outcome: { output?: unknown; error?: ErrorSummary | undefined }): Promise<ExecutionRecord> {
    execution.release();
    execution.finish(status, outcome);
    await execution.observer?.onFinish?.(execution.journal, this.#flow);
    return execution.record;
  }

  #assert(allowed: TransactionState | readonly TransactionState[], action: string): void {
    const states: readonly TransactionState[] = typeof allowed === 'string' ? [allowed] : allowed;
    if (!states.includes(this.#state)) {
      throw new FlowdError('FLOWD_ERR_REQUEST_INVALID', `cannot ${action}: transaction ${this.executionId} is ${this.#state.replace('_', ' ')}`);
    }
  }
}

/**
 * The seed's `async with flow_manager.transaction() as tx:` — runs `body` in a transaction that
 * is committed when `body` returns (unless it already committed or rolled back) and rolled back
 * when it throws; the error is rethrown after the rollback.
 */
export async function withTransaction<T>(
  engine: { transaction(flow: string, options?: TransactionOptions): FlowTransaction },
  flow: string,
  body: (tx: FlowTransaction) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  const tx = engine.transaction(flow, options);
  let result: T;
  try {
    result = await body(tx);
  } catch (error) {
    if (tx.state === 'open' || tx.state === 'failed') await tx.rollback();
    throw error;
  }
  if (tx.state === 'open') await tx.commit();
  return result;
}
