import type { CompiledFlow, CompiledPhase } from '../flows/compiled.js';
import type { FlowdError } from '../errors.js';
import type { FlowLogger } from './logger.js';
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
 * once and return what it returns, or throw); the `on…` hooks observe events. The built-in
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

  constructor(middleware: readonly Middleware[]) {
    this.#middleware = middleware;
    const flowHooks = middleware.flatMap((m) => (m.flow === undefined ? [] : [m.flow.bind(m)]));
    const phaseHooks = middleware.flatMap((m) => (m.phase === undefined ? [] : [m.phase.bind(m)]));
    this.aroundFlow = composeAround(flowHooks);
    this.aroundPhase = composeAround(phaseHooks);
    this.hasPhaseHooks = phaseHooks.length > 0;
  }

  emitRetry(event: RetryEvent): void {
    for (const m of this.#middleware) m.onRetry?.(event);
  }

  emitCache(event: CacheEvent): void {
    for (const m of this.#middleware) m.onCache?.(event);
  }

  emitCompensation(event: CompensationEvent): void {
    for (const m of this.#middleware) m.onCompensation?.(event);
  }

  emitCircuitState(event: CircuitStateEvent): void {
    for (const m of this.#middleware) m.onCircuitState?.(event);
  }
}
