import type { CompiledFlow, CompiledPhase } from '../flows/compiled.js';
import type { FlowdError } from '../errors.js';
import { silentLogger, type FlowLogger } from './logger.js';
import type { CompensationRecord, ExecutionRecord, PhaseRecord } from './record.js';

/** What middleware sees of one execution. `record` is live: it is complete once `next()` resolves. */
export interface FlowContext {
  readonly executionId: string;
  readonly flow: CompiledFlow;
  readonly input: unknown;
  readonly record: ExecutionRecord;
  readonly logger: FlowLogger;
  readonly requestId: string | undefined;
  readonly parentId: string | undefined;
}

/** What phase middleware sees. `record` is final (status, error, end, duration) once `next()` settles. */
export interface PhaseContext {
  readonly execution: FlowContext;
  readonly phase: CompiledPhase;
  readonly record: PhaseRecord;
  readonly logger: FlowLogger;
}

export interface RetryEvent {
  readonly execution: FlowContext;
  readonly phase: CompiledPhase;
  /** The attempt that failed (1-based). */
  readonly attempt: number;
  readonly delayMs: number;
  readonly error: FlowdError;
}

export interface CacheEvent {
  readonly execution: FlowContext;
  readonly phase: CompiledPhase;
  readonly hit: boolean;
}

export interface CompensationEvent {
  readonly execution: FlowContext;
  readonly compensation: CompensationRecord;
}

export interface CircuitStateEvent {
  readonly flow: string;
  readonly component: string;
  readonly state: 'closed' | 'open' | 'half_open' | 'isolated';
}

/**
 * Wraps flow and phase execution. `flow` and `phase` run around the work (call `next()` exactly
 * once and return what it returns, or throw); the `on…` hooks observe events: an error they
 * throw (or a promise they reject) is logged and ignored, never failing the flow. The built-in
 * logs and metrics are not middleware: they are views of the execution journal (journal sinks).
 * An engine whose middleware has no hook of a kind pays nothing for that kind.
 */
export interface Middleware {
  readonly name: string;
  flow?(ctx: FlowContext, next: () => Promise<ExecutionRecord>): Promise<ExecutionRecord>;
  phase?(ctx: PhaseContext, next: () => Promise<unknown>): Promise<unknown>;
  /**
   * Checks a phase's output as the `phase` hooks return it (so what they replaced is checked):
   * throw to fail the phase (compensation and recovery then apply). Synchronous.
   */
  checkOutput?(ctx: PhaseContext, output: unknown): void;
  /** An execution starts (before its first phase and before every `flow` hook). */
  onFlowStart?(ctx: FlowContext): void;
  /** An execution ended: `record` is final. After every `flow` hook has returned. */
  onFlowEnd?(ctx: FlowContext, record: ExecutionRecord): void;
  /**
   * A phase ended: its record is final (status, error, end, duration). `output` is the phase's
   * output when it succeeded. After every `phase` hook has returned.
   */
  onPhaseEnd?(ctx: PhaseContext, output: unknown): void;
  onRetry?(event: RetryEvent): void;
  onCache?(event: CacheEvent): void;
  onCompensation?(event: CompensationEvent): void;
  onCircuitState?(event: CircuitStateEvent): void;
}

export type Around<C, R> = (ctx: C, next: () => Promise<R>) => Promise<R>;

/** Composes `around` hooks once (at engine creation) into one function; no per-call allocation when empty. */
export function composeAround<C, R>(hooks: readonly Around<C, R>[]): (ctx: C, work: () => Promise<R>) => Promise<R> {
  if (hooks.length === 0) return (_ctx, work) => work();
  return (ctx, work) => {
    const dispatch = (index: number): Promise<R> => {
      const hook = hooks[index];
      if (hook === undefined) return work();
      let called = false;
      return hook(ctx, () => {
        if (called) return Promise.reject(new Error('middleware called next() twice'));
        called = true;
        return dispatch(index + 1);
      });
    };
    return dispatch(0);
  };
}

/**
 * The context of one phase run. Its logger is made on first use (most phases never log), and its
 * record is built when read (from the phase run's facts: final once the phase settled); both are
 * own enumerable properties, so a middleware's copy of the context (`{ ...ctx }`) keeps them.
 */
export class LivePhaseContext implements PhaseContext {
  declare readonly logger: FlowLogger;
  declare readonly record: PhaseRecord;

  constructor(
    readonly execution: FlowContext,
    readonly phase: CompiledPhase,
    recordOf: () => PhaseRecord,
  ) {
    let logger: FlowLogger | undefined;
    Object.defineProperty(this, 'logger', {
      enumerable: true,
      get: () => (logger ??= execution.logger.child({ phase: phase.id })),
    });
    Object.defineProperty(this, 'record', { enumerable: true, get: recordOf });
  }
}

/** Middleware hooks grouped once so the hot path never filters the list. */
export class MiddlewareChain {
  readonly aroundFlow: (ctx: FlowContext, work: () => Promise<ExecutionRecord>) => Promise<ExecutionRecord>;
  readonly aroundPhase: (ctx: PhaseContext, work: () => Promise<unknown>) => Promise<unknown>;
  /** Whether phases need a context at all (any phase hook, around or observer). */
  readonly hasPhaseHooks: boolean;
  /** Whether any middleware wraps phases (`phase`): without, a phase costs no extra promise. */
  readonly hasAroundPhase: boolean;
  /** Whether any middleware looks at whole executions (`flow`, `onFlowStart`, `onFlowEnd`): without, no flow context is made. */
  readonly hasFlowHooks: boolean;
  /** Whether any middleware observes retries, cache lookups or compensations. */
  readonly hasEventHooks: boolean;
  readonly #middleware: readonly Middleware[];
  readonly #checkOutput: readonly Middleware[];
  readonly #flowStart: readonly Middleware[];
  readonly #flowEnd: readonly Middleware[];
  readonly #phaseEnd: readonly Middleware[];
  readonly #logger: FlowLogger;

  /** `logger` receives errors thrown by observer hooks that have no execution to log them on. */
  constructor(middleware: readonly Middleware[], logger: FlowLogger = silentLogger) {
    this.#middleware = middleware;
    this.#logger = logger;
    const flowHooks = middleware.flatMap((m) => (m.flow === undefined ? [] : [m.flow.bind(m)]));
    const phaseHooks = middleware.flatMap((m) => (m.phase === undefined ? [] : [m.phase.bind(m)]));
    this.aroundFlow = composeAround(flowHooks);
    this.aroundPhase = composeAround(phaseHooks);
    this.#checkOutput = middleware.filter((m) => m.checkOutput !== undefined);
    this.#flowStart = middleware.filter((m) => m.onFlowStart !== undefined);
    this.#flowEnd = middleware.filter((m) => m.onFlowEnd !== undefined);
    this.#phaseEnd = middleware.filter((m) => m.onPhaseEnd !== undefined);
    this.hasAroundPhase = phaseHooks.length > 0;
    this.hasPhaseHooks = this.hasAroundPhase || this.#checkOutput.length > 0 || this.#phaseEnd.length > 0;
    this.hasFlowHooks = flowHooks.length > 0 || this.#flowStart.length > 0 || this.#flowEnd.length > 0;
    this.hasEventHooks = middleware.some((m) => m.onRetry !== undefined || m.onCache !== undefined || m.onCompensation !== undefined);
  }

  /** Runs the output checks in order; the first that throws fails the phase. */
  checkOutput(ctx: PhaseContext, output: unknown): void {
    for (const m of this.#checkOutput) m.checkOutput!(ctx, output);
  }

  flowStarted(ctx: FlowContext): void {
    for (const m of this.#flowStart) {
      try {
        watch(m.onFlowStart!(ctx), m, 'onFlowStart', ctx.logger);
      } catch (error) {
        reportObserverError(error, m, 'onFlowStart', ctx.logger);
      }
    }
  }

  flowEnded(ctx: FlowContext, record: ExecutionRecord): void {
    for (const m of this.#flowEnd) {
      try {
        watch(m.onFlowEnd!(ctx, record), m, 'onFlowEnd', ctx.logger);
      } catch (error) {
        reportObserverError(error, m, 'onFlowEnd', ctx.logger);
      }
    }
  }

  phaseEnded(ctx: PhaseContext, output: unknown): void {
    for (const m of this.#phaseEnd) {
      try {
        watch(m.onPhaseEnd!(ctx, output), m, 'onPhaseEnd', ctx.execution.logger);
      } catch (error) {
        reportObserverError(error, m, 'onPhaseEnd', ctx.execution.logger);
      }
    }
  }

  emitRetry(event: RetryEvent): void {
    this.#observe('onRetry', event, event.execution.logger);
  }

  emitCache(event: CacheEvent): void {
    this.#observe('onCache', event, event.execution.logger);
  }

  emitCompensation(event: CompensationEvent): void {
    this.#observe('onCompensation', event, event.execution.logger);
  }

  emitCircuitState(event: CircuitStateEvent): void {
    this.#observe('onCircuitState', event, this.#logger);
  }

  /**
   * Observers only watch: one that throws (or returns a promise that rejects) is logged and
   * ignored, so it never fails the phase, the retry loop or the breaker it observes.
   */
  #observe<K extends ObserverHook>(hook: K, event: Parameters<NonNullable<Middleware[K]>>[0], logger: FlowLogger): void {
    for (const m of this.#middleware) {
      const observer = m[hook] as ((event: unknown) => unknown) | undefined;
      if (observer === undefined) continue;
      try {
        watch(observer.call(m, event), m, hook, logger);
      } catch (error) {
        reportObserverError(error, m, hook, logger);
      }
    }
  }
}

/** An observer that returned a promise: its rejection is reported, never unhandled. */
function watch(result: unknown, m: Middleware, hook: string, logger: FlowLogger): void {
  if (typeof (result as PromiseLike<unknown> | undefined)?.then === 'function') {
    (result as Promise<unknown>).then(undefined, (error: unknown) => reportObserverError(error, m, hook, logger));
  }
}

function reportObserverError(error: unknown, m: Middleware, hook: string, logger: FlowLogger): void {
  try {
    logger.warn({ err: error, middleware: m.name, hook }, 'middleware observer hook threw; ignored');
  } catch {
    // a broken logger must not break the flow either
  }
}

type ObserverHook = 'onRetry' | 'onCache' | 'onCompensation' | 'onCircuitState';
