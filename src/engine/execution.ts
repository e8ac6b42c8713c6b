import {
  BulkheadRejectedError,
  CancelledError,
  CircuitOpenError,
  ExpressionError,
  FlowdError,
  LeaseLostError,
  LimitExceededError,
  TimeoutError,
  toFlowdError,
} from '../errors.js';
import { isPromiseLike } from '../expressions/index.js';
import type {
  CompiledFlow,
  CompiledPhase,
  DecisionPhase,
  MapPhase,
  ParallelPhase,
  SubflowPhase,
} from '../flows/compiled.js';
import { runCallPhase } from './call-phase.js';
import { isoTime } from './iso-time.js';
import { runCompensations, type PendingCompensation } from './compensation.js';
import type { FlowLogger } from './logger.js';
import { LivePhaseContext, type FlowContext } from './middleware.js';
import type { ErrorSummary, ExecutionRecord, ExecutionStatus, PhaseRecord } from './record.js';
import type { ChildExecuteOptions, EngineRuntime, ExecutionObserver } from './runtime.js';

/** The data expressions see. `phases` is shared by the whole execution (a map item gets a copy). */
export interface Scope {
  readonly input: unknown;
  readonly phases: Record<string, unknown>;
  readonly execution: { readonly id: string; readonly flow: string; readonly version: string; readonly startedAt: string };
  readonly deps: Record<string, unknown>;
  readonly item?: unknown;
  readonly index?: number;
}

/** Where a phase runs: map item index and loop pass, to key records and checkpoints. */
export interface Location {
  readonly index?: number | undefined;
  readonly iteration?: number | undefined;
}

/** Evaluates a compiled template or expression, awaiting only when it is asynchronous. */
export async function evaluate(template: { evaluate(scope: object): unknown }, scope: object): Promise<unknown> {
  const value = template.evaluate(scope);
  return isPromiseLike(value) ? await value : value;
}

export function summarize(error: FlowdError, phase?: string, attempts?: number): ErrorSummary {
  const status = error.details?.['status'];
  const reason = error.details?.['reason'];
  const retryAfter = error instanceof CircuitOpenError ? error.retryAfterSeconds : error instanceof BulkheadRejectedError ? 1 : undefined;
  return {
    ...(retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter }),
    code: error.code,
    message: error.message,
    ...(phase === undefined ? {} : { phase }),
    ...(attempts === undefined ? {} : { attempts }),
    ...(typeof status === 'number' ? { status } : {}),
    ...(typeof reason === 'string' ? { reason } : {}),
    recoverable: error.recoverable,
  };
}

/** An error that already names the phase it happened in. */
export class PhaseFailure extends FlowdError {
  constructor(
    readonly error: FlowdError,
    readonly phase: string,
    readonly attempts: number,
  ) {
    super(error.code, error.message, { cause: error, retryable: error.retryable, recoverable: error.recoverable });
  }
}

/** One run of one flow: walks the compiled phase tree, records every phase, compensates on failure. */
export class Execution {
  readonly record: ExecutionRecord;
  readonly context: FlowContext;
  readonly logger: FlowLogger;
  readonly pending: PendingCompensation[] = [];
  readonly #controller = new AbortController();
  readonly #timer: NodeJS.Timeout | undefined;
  readonly #started: number;
  readonly deadlineAt: number;
  /** Which phase was running when the deadline passed. */
  #runningPhase: string | undefined;
  readonly #scope: Scope;
  /** The body ran to its end (not abandoned on a lost lease): the observer's onFinish is due. */
  #ended = false;
  /** Removes the listener on the caller's signal (long-lived: a parent execution's, a lease's). */
  #detachCaller: (() => void) | undefined;

  constructor(
    readonly runtime: EngineRuntime,
    readonly flow: CompiledFlow,
    readonly input: unknown,
    readonly options: ChildExecuteOptions,
  ) {
    const now = runtime.clock.now();
    this.#started = performance.now();
    const executionId = options.executionId ?? runtime.newId();
    const startedAt = isoTime(now);
    this.record = {
      executionId,
      flow: flow.name,
      version: flow.version,
      status: 'running',
      input,
      startedAt,
      errorHandled: false,
      fallbackExecuted: false,
      recovered: false,
      phases: [],
    };
    // Optional fields set one by one: a literal with conditional spreads costs a slow object copy each.
    if (options.parentId !== undefined) this.record.parentId = options.parentId;
    if (options.requestId !== undefined) this.record.requestId = options.requestId;
    if (options.retryOf !== undefined) this.record.retryOf = options.retryOf;
    if (options.correlationKey !== undefined) this.record.correlationKey = options.correlationKey;
    const bindings: Record<string, unknown> = { executionId, flow: flow.name };
    if (options.requestId !== undefined) bindings['reqId'] = options.requestId;
    const traceId = options.traceparent === undefined ? undefined : /^[0-9a-f]{2}-([0-9a-f]{32})-/.exec(options.traceparent)?.[1];
    if (traceId !== undefined) bindings['traceId'] = traceId;
    this.logger = runtime.logger.child(bindings);
    this.context = {
      executionId,
      flow,
      input,
      record: this.record,
      logger: this.logger,
      requestId: options.requestId,
      parentId: options.parentId,
    };
    const ownTimeout = Math.min(flow.timeoutMs, options.timeoutMs ?? Infinity);
    this.deadlineAt = Math.min(now + ownTimeout, options.deadlineAt ?? Infinity);
    const remaining = Math.max(0, this.deadlineAt - now);
    this.#timer = setTimeout(() => {
      const phase = this.#runningPhase;
      this.#controller.abort(
        new TimeoutError('flow', `flow "${flow.name}" exceeded its ${Math.round(remaining)} ms deadline${phase === undefined ? '' : ` while phase "${phase}" was running`}`),
      );
    }, remaining);
    this.#timer.unref?.();
    if (options.signal !== undefined) {
      const caller = options.signal;
      if (caller.aborted) this.#controller.abort(toCancellation(caller.reason));
      else {
        const onAbort = (): void => this.#controller.abort(toCancellation(caller.reason));
        caller.addEventListener('abort', onAbort, { once: true });
        this.#detachCaller = () => caller.removeEventListener('abort', onAbort);
      }
    }
    this.#scope = {
      input,
      phases: {},
      execution: { id: executionId, flow: flow.name, version: flow.version, startedAt },
      deps: {},
    };
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Aborts the execution (e.g. `POST /executions/{id}/cancel`). */
  cancel(reason = 'the execution was cancelled'): void {
    this.#controller.abort(new CancelledError(reason));
  }

  /** Stops the deadline timer of an execution driven phase by phase (FlowTransaction) rather than by run(). */
  release(): void {
    clearTimeout(this.#timer);
    this.#detachCaller?.();
  }

  /** This execution's observer: its own (durable runs) or else the engine's. */
  get observer(): ExecutionObserver | undefined {
    return this.options.observer ?? this.runtime.observer;
  }

  async run(): Promise<ExecutionRecord> {
    try {
      await this.observer?.onStart?.(this.record, this.flow);
      const { chain } = this.runtime;
      chain.flowStarted(this.context);
      try {
        return await chain.aroundFlow(this.context, () => this.#runBody());
      } finally {
        chain.flowEnded(this.context, this.record);
        // After the middleware, so the stored record and log lines include what they added
        // (the "execution finished" line is written with the others, not after the end).
        if (this.#ended) await this.observer?.onFinish?.(this.record, this.flow);
      }
    } finally {
      clearTimeout(this.#timer);
      this.#detachCaller?.();
    }
  }

  async #runBody(): Promise<ExecutionRecord> {
    let lastOutput: unknown;
    try {
      await this.#runDependencies();
      lastOutput = await this.runList(this.flow.phases, this.#scope, {});
      this.record.output = this.flow.output === undefined ? lastOutput : await this.#evaluateOrFail(this.flow.output, this.#scope, 'output');
      this.#finish('succeeded');
    } catch (thrown) {
      // Another worker owns the execution now: stop where we are and leave the rest to it.
      if (leaseLost(thrown)) {
        this.logger.warn({ err: thrown instanceof PhaseFailure ? thrown.error : thrown }, 'execution abandoned: lease lost');
        return this.record;
      }
      await this.#fail(thrown);
    }
    await this.#startTriggers();
    this.#ended = true;
    return this.record;
  }

  async #evaluateOrFail(template: { evaluate(scope: object): unknown }, scope: object, where: string): Promise<unknown> {
    try {
      return await evaluate(template, scope);
    } catch (error) {
      throw new PhaseFailure(toFlowdError(error), where, 0);
    }
  }

  #finish(status: ExecutionStatus): void {
    this.record.status = status;
    this.record.finishedAt = isoTime(this.runtime.clock.now());
    this.record.durationMs = round(performance.now() - this.#started);
  }

  async #fail(thrown: unknown): Promise<void> {
    const failure = thrown instanceof PhaseFailure ? thrown : undefined;
    const error = failure?.error ?? toFlowdError(thrown);
    this.record.error = summarize(error, failure?.phase ?? this.#runningPhase, failure?.attempts);
    let status: ExecutionStatus =
      error.code === 'FLOWD_ERR_FLOW_TIMEOUT' ? 'timed_out' : error.code === 'FLOWD_ERR_CANCELLED' ? 'cancelled' : 'failed';
    this.logger.warn({ err: error, phase: this.record.error.phase }, 'execution failed');
    if (this.flow.transactional && this.pending.length > 0) {
      const compensations = await runCompensations(this);
      this.record.compensations = compensations;
      status = compensations.every((c) => c.status === 'succeeded') ? 'compensated' : 'compensation_failed';
      this.record.errorHandled = true;
    }
    this.#finish(status);
    await this.#recover(error);
  }

  async #recover(error: FlowdError): Promise<void> {
    const recovery = this.flow.recovery;
    if (recovery === undefined || this.options.noRecovery === true) return;
    const applies = recovery.on === undefined ? error.recoverable : recovery.on.has(error.code);
    if (!applies) return;
    let child: ExecutionRecord;
    try {
      child = await this.runtime.runChild(
        recovery.flow,
        { error: this.record.error, input: this.input, phases: { ...this.#scope.phases } },
        {
          parentId: this.record.executionId,
          depth: (this.options.depth ?? 0) + 1,
          noRecovery: true,
          requestId: this.options.requestId,
          traceparent: this.options.traceparent,
        },
      );
    } catch (thrown) {
      // The recovery flow could not start (its input schema refused what it was given): the
      // original failure stands, with why recovery did not run as its newest error.
      const startError = toFlowdError(thrown);
      this.logger.error({ err: startError, recoveryFlow: recovery.flow }, 'recovery flow could not start');
      if (this.record.error !== undefined) this.record.error = { ...summarize(startError, `recovery_flow ${recovery.flow}`), cause: this.record.error };
      return;
    }
    this.record.recoveryExecutionId = child.executionId;
    if (child.status === 'succeeded') {
      this.record.recovered = true;
      this.record.errorHandled = true;
      this.record.output = child.output;
    } else if (child.error !== undefined && this.record.error !== undefined) {
      this.record.error = { ...child.error, cause: this.record.error };
    }
  }

  async #runDependencies(): Promise<void> {
    for (const dependency of this.flow.dependsOn) {
      if (dependency.withinMs !== undefined) {
        this.#scope.deps[dependency.flow] = await this.#recentDependency(dependency.flow, dependency.withinMs, dependency.correlationKey);
        continue;
      }
      const input = dependency.input === undefined ? this.input : await this.#evaluateOrFail(dependency.input, this.#scope, `depends_on.${dependency.flow}`);
      const child = await this.runtime.runChild(dependency.flow, input, this.#childOptions());
      if (child.status !== 'succeeded' && !child.recovered) {
        throw new PhaseFailure(childError(child), `depends_on.${dependency.flow}`, 1);
      }
      this.#scope.deps[dependency.flow] = child.output;
    }
  }

  /** `depends_on` with `within_ms`: the output of a recent succeeded run of the prerequisite, or fail (424). */
  async #recentDependency(flow: string, withinMs: number, correlationKey: { evaluate(scope: object): unknown } | undefined): Promise<unknown> {
    const where = `depends_on.${flow}`;
    const keyValue = correlationKey === undefined ? undefined : await this.#evaluateOrFail(correlationKey, this.#scope, `${where}.correlation_key`);
    if (correlationKey !== undefined && (keyValue === undefined || keyValue === null || typeof keyValue === 'object')) {
      throw new PhaseFailure(new ExpressionError(`${where}.correlation_key must produce a string or number`), where, 0);
    }
    const key = keyValue === undefined ? undefined : typeof keyValue === 'string' ? keyValue : JSON.stringify(keyValue);
    const found = await this.runtime.findSucceeded?.(flow, key, withinMs);
    if (found === undefined) {
      const forKey = key === undefined ? '' : ` for correlation key "${key}"`;
      throw new PhaseFailure(
        new FlowdError('FLOWD_ERR_DEPENDENCY_NOT_MET', `prerequisite flow "${flow}" has no succeeded execution${forKey} in the last ${withinMs} ms`, {
          details: { flow, withinMs, ...(key === undefined ? {} : { correlationKey: key }) },
        }),
        where,
        0,
      );
    }
    return found.output;
  }

  async #startTriggers(): Promise<void> {
    const succeeded = this.record.status === 'succeeded';
    for (const trigger of this.flow.triggers) {
      if (trigger.on === 'succeeded' && !succeeded) continue;
      if (trigger.on === 'failed' && succeeded) continue;
      try {
        const input = trigger.input === undefined ? this.record.output : await evaluate(trigger.input, { ...this.#scope, output: this.record.output });
        const id = await this.runtime.startTriggered(trigger.flow, input, this.record.executionId);
        if (id !== undefined) (this.record.triggered ??= []).push(id);
      } catch (error) {
        this.logger.error({ err: error, trigger: trigger.flow }, 'trigger failed to start');
      }
    }
  }

  #childOptions(): ChildExecuteOptions {
    return {
      parentId: this.record.executionId,
      depth: (this.options.depth ?? 0) + 1,
      deadlineAt: this.deadlineAt,
      signal: this.signal,
      requestId: this.options.requestId,
      traceparent: this.options.traceparent,
      enableCaching: this.options.enableCaching,
      parallelExecution: this.options.parallelExecution,
    };
  }

  /** Runs a list of phases in order (following decision `goto`s); returns the last phase's output. */
  async runList(phases: readonly CompiledPhase[], scope: Scope, location: Location, signal = this.signal): Promise<unknown> {
    let last: unknown;
    let position = 0;
    let passes: Map<string, number> | undefined;
    while (position < phases.length) {
      const phase = phases[position]!;
      const iteration = passes?.get(phase.id);
      const result = await this.runPhase(phase, scope, iteration === undefined ? location : { ...location, iteration }, signal);
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
  }

  /** Runs one phase of any kind inside the middleware chain and records it. */
  async runPhase(
    phase: CompiledPhase,
    scope: Scope,
    location: Location,
    signal: AbortSignal,
  ): Promise<{ output: unknown; goto?: { target: string; max: number | undefined } }> {
    if (signal.aborted) throw toFlowdError(signal.reason);
    const key = checkpointKey(phase.id, location);
    const restored = this.options.checkpoints?.get(key);
    const record: PhaseRecord = {
      id: phase.id,
      kind: phase.kind,
      status: 'running',
      attempts: 0,
      startedAt: isoTime(this.runtime.clock.now()),
    };
    if (location.index !== undefined) record.index = location.index;
    if (location.iteration !== undefined) record.iteration = location.iteration;
    this.record.phases.push(record);
    const started = performance.now();
    if (restored !== undefined && phase.kind !== 'decision') {
      record.status = 'succeeded';
      record.restored = true;
      record.durationMs = 0;
      scope.phases[phase.id] = restored;
      if (phase.kind === 'call' && phase.compensate !== undefined && this.flow.transactional && this.options.compensationRequests?.has(key) === true) {
        this.pending.push({ phase, index: location.index, key, scope, request: this.options.compensationRequests.get(key), output: restored });
      }
      return { output: restored };
    }
    this.#runningPhase = phase.id;
    let goto: { target: string; max: number | undefined } | undefined;
    const fail = (thrown: unknown): PhaseFailure => {
      const failure = thrown instanceof PhaseFailure ? thrown : new PhaseFailure(toFlowdError(thrown), phase.id, record.attempts);
      // Stopped by a cancellation (the caller, or a failing sibling in a parallel block or map), not failed on its own.
      const cancelled = failure.error.code === 'FLOWD_ERR_CANCELLED';
      record.status = cancelled ? 'cancelled' : 'failed';
      record.error ??= summarize(failure.error, undefined, record.attempts);
      return failure;
    };
    const settle = (): void => {
      record.finishedAt ??= isoTime(this.runtime.clock.now());
      record.durationMs ??= round(performance.now() - started);
    };
    const { chain } = this.runtime;
    const phaseContext = chain.hasPhaseHooks ? new LivePhaseContext(this.context, phase, record) : undefined;
    // The record is final (status, error, end, duration) before phase middleware's `next()`
    // settles, so `phase` hooks see the outcome they wrap.
    const work = async (): Promise<unknown> => {
      try {
        const outcome = await this.#runKind(phase, scope, location, signal, record);
        goto = outcome.goto;
        record.status = 'succeeded';
        return outcome.output;
      } catch (thrown) {
        throw fail(thrown);
      } finally {
        settle();
      }
    };
    let output: unknown;
    let failure: PhaseFailure | undefined;
    try {
      output = phaseContext !== undefined && chain.hasAroundPhase ? await chain.aroundPhase(phaseContext, work) : await work();
      // Checked as the phase hooks return it: what they replaced or added is bounded too.
      if (phaseContext !== undefined) chain.checkOutput(phaseContext, output);
      record.status = 'succeeded';
      scope.phases[phase.id] = output;
    } catch (thrown) {
      failure = fail(thrown);
    } finally {
      settle();
    }
    if (phaseContext !== undefined) chain.phaseEnded(phaseContext, failure === undefined ? output : undefined);
    if (failure !== undefined) throw failure;
    if (phase.kind !== 'decision') {
      const compensable = phase.kind === 'call' && phase.compensate !== undefined ? this.pending.find((entry) => entry.key === key) : undefined;
      try {
        await this.observer?.onCheckpoint?.(this.record, key, output, compensable === undefined ? undefined : { request: compensable.request });
      } catch (thrown) {
        throw fail(thrown);
      }
    }
    return goto === undefined ? { output } : { output, goto };
  }

  #runKind(
    phase: CompiledPhase,
    scope: Scope,
    location: Location,
    signal: AbortSignal,
    record: PhaseRecord,
  ): Promise<{ output: unknown; goto?: { target: string; max: number | undefined } }> {
    switch (phase.kind) {
      case 'call':
        return runCallPhase(this, phase, scope, location, signal, record).then((output) => ({ output }));
      case 'decision':
        return this.#runDecision(phase, scope, location, signal, record);
      case 'parallel':
        return this.#runParallel(phase, scope, location, signal).then((output) => ({ output }));
      case 'map':
        return this.#runMap(phase, scope, location, signal, record).then((output) => ({ output }));
      case 'subflow':
        return this.#runSubflow(phase, scope, signal, record).then((output) => ({ output }));
    }
  }

  async #runDecision(
    phase: DecisionPhase,
    scope: Scope,
    location: Location,
    signal: AbortSignal,
    record: PhaseRecord,
  ): Promise<{ output: unknown; goto?: { target: string; max: number | undefined } }> {
    for (const branch of phase.branches) {
      if (branch.when !== undefined) {
        let chosen: unknown;
        try {
          chosen = await evaluate(branch.when, scope);
        } catch (error) {
          throw new PhaseFailure(toFlowdError(error), phase.id, 0);
        }
        if (chosen === undefined) {
          throw new PhaseFailure(
            new ExpressionError(`${branch.when.where}: expression "${branch.when.source}" produced no value (a path it reads is missing)`, {
              expression: branch.when.source,
              where: branch.when.where,
            }),
            phase.id,
            0,
          );
        }
        if (chosen !== true) continue;
      }
      record.branch = branch.label;
      const output = await this.runList(branch.phases, scope, location, signal);
      const result = { output: { branch: branch.label, output } };
      return branch.goto === undefined ? result : { ...result, goto: { target: branch.goto, max: branch.maxIterations } };
    }
    record.branch = '(none)';
    return { output: { branch: null, output: null } };
  }

  async #runParallel(phase: ParallelPhase, scope: Scope, location: Location, signal: AbortSignal): Promise<unknown> {
    const results = await this.runConcurrently(
      phase.branches,
      this.options.parallelExecution === false ? 1 : phase.branches.length,
      signal,
      (branch, branchSignal) => this.runList(branch.phases, scope, location, branchSignal),
    );
    const output: Record<string, unknown> = {};
    phase.branches.forEach((branch, i) => {
      output[branch.name] = results[i];
    });
    return output;
  }

  async #runMap(phase: MapPhase, scope: Scope, location: Location, signal: AbortSignal, record: PhaseRecord): Promise<unknown[]> {
    let items: unknown;
    try {
      items = await evaluate(phase.items, scope);
    } catch (error) {
      throw new PhaseFailure(toFlowdError(error), phase.id, 0);
    }
    if (items === undefined) items = [];
    const list = Array.isArray(items) ? items : [items];
    const limit = Math.min(phase.maxItems, this.runtime.maxMapItems);
    if (list.length > limit) {
      throw new PhaseFailure(new LimitExceededError(`map "${phase.id}" has ${list.length} items, more than its limit of ${limit}`), phase.id, 0);
    }
    record.attempts = 1;
    const concurrency = this.options.parallelExecution === false ? 1 : phase.concurrency;
    return this.runConcurrently(list, concurrency, signal, async (item, itemSignal, index) => {
      const itemScope: Scope = { ...scope, phases: { ...scope.phases }, item, index };
      const last = await this.runList(phase.phases, itemScope, { ...location, index }, itemSignal);
      return phase.output === undefined ? last : evaluate(phase.output, itemScope);
    });
  }

  async #runSubflow(phase: SubflowPhase, scope: Scope, signal: AbortSignal, record: PhaseRecord): Promise<unknown> {
    if ((this.options.depth ?? 0) + 1 > this.runtime.maxSubflowDepth) {
      throw new LimitExceededError(`sub-flow depth limit (${this.runtime.maxSubflowDepth}) exceeded at phase "${phase.id}"`);
    }
    const input = phase.input === undefined ? scope.input : await evaluate(phase.input, scope);
    record.attempts = 1;
    const child = await this.runtime.runChild(phase.flow, input, { ...this.#childOptions(), signal });
    record.childExecutionId = child.executionId;
    if (child.status !== 'succeeded' && !child.recovered) throw childError(child);
    return phase.output === undefined ? child.output : evaluate(phase.output, { ...scope, result: child.output });
  }

  /**
   * Runs `work` for each item with at most `limit` at once. The first failure aborts the
   * others (fail fast) and is rethrown once every started item has settled.
   */
  async runConcurrently<T, R>(
    items: readonly T[],
    limit: number,
    signal: AbortSignal,
    work: (item: T, signal: AbortSignal, index: number) => Promise<R>,
  ): Promise<R[]> {
    const results = new Array<R>(items.length);
    if (items.length === 0) return results;
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(signal.reason);
    // Already aborted (e.g. during the map's items expression): the items must not run unstopped.
    if (signal.aborted) controller.abort(signal.reason);
    else signal.addEventListener('abort', onAbort, { once: true });
    let failure: unknown;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < items.length && failure === undefined) {
        const index = next++;
        try {
          results[index] = await work(items[index]!, controller.signal, index);
        } catch (error) {
          if (failure === undefined) {
            failure = error;
            controller.abort(new CancelledError('a sibling branch failed'));
          }
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    if (failure !== undefined) throw failure;
    return results;
  }
}

export function checkpointKey(id: string, location: Location): string {
  let key = id;
  if (location.index !== undefined) key += `#${location.index}`;
  if (location.iteration !== undefined) key += `@${location.iteration}`;
  return key;
}

function childError(child: ExecutionRecord): FlowdError {
  const summary = child.error;
  return new FlowdError(summary?.code ?? 'FLOWD_ERR_INTERNAL', `sub-flow "${child.flow}" ${child.status}: ${summary?.message ?? 'no error recorded'}`, {
    recoverable: summary?.recoverable ?? false,
    details: { childExecutionId: child.executionId, ...(summary?.status === undefined ? {} : { status: summary.status }) },
  });
}

function leaseLost(thrown: unknown): boolean {
  const error = thrown instanceof PhaseFailure ? thrown.error : thrown;
  return error instanceof LeaseLostError || (error instanceof FlowdError && error.code === 'FLOWD_ERR_LEASE_LOST');
}

function toCancellation(reason: unknown): FlowdError {
  return reason instanceof FlowdError ? reason : new CancelledError('the caller cancelled the execution');
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
