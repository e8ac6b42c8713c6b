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
 * logging and metrics are middleware too.
 */
export interface Middleware {
  readonly name: string;
  flow?(ctx: FlowContext, next: () => Promise<ExecutionRecord>): Promise<ExecutionRecord>;
  phase?(ctx: PhaseContext, next: () => Promise<unknown>): Promise<unknown>;
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

/** Middleware hooks grouped once so the hot path never filters the list. */
export class MiddlewareChain {
  readonly aroundFlow: (ctx: FlowContext, work: () => Promise<ExecutionRecord>) => Promise<ExecutionRecord>;
  readonly aroundPhase: (ctx: PhaseContext, work: () => Promise<unknown>) => Promise<unknown>;
  readonly hasPhaseHooks: boolean;
  readonly #middleware: readonly Middleware[];
  readonly #logger: FlowLogger;

  /** `logger` receives errors thrown by observer hooks that have no execution to log them on. */
  constructor(middleware: readonly Middleware[], logger: FlowLogger = silentLogger) {
    this.#middleware = middleware;
    this.#logger = logger;
    const flowHooks = middleware.flatMap((m) => (m.flow === undefined ? [] : [m.flow.bind(m)]));
    const phaseHooks = middleware.flatMap((m) => (m.phase === undefined ? [] : [m.phase.bind(m)]));
    this.aroundFlow = composeAround(flowHooks);
    this.aroundPhase = composeAround(phaseHooks);
    this.hasPhaseHooks = phaseHooks.length > 0;
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
      const report = (error: unknown): void => {
        try {
          logger.warn({ err: error, middleware: m.name, hook }, 'middleware observer hook threw; ignored');
        } catch {
          // a broken logger must not break the flow either
        }
      };
      try {
        const result = observer.call(m, event);
        if (typeof (result as PromiseLike<unknown> | undefined)?.then === 'function') (result as Promise<unknown>).then(undefined, report);
      } catch (error) {
        report(error);
      }
    }
  }
}

type ObserverHook = 'onRetry' | 'onCache' | 'onCompensation' | 'onCircuitState';
