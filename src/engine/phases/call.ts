import { CancelledError, TimeoutError, toFlowdError, type FlowdError } from '../../errors.js';
import type { CallPhase } from '../../flows/compiled.js';
import { isPromiseLike } from '../../expressions/index.js';
import type { Cancellation } from '../cancellation.js';
import { raceAbort } from '../policies.js';
import type { ExecutionContext, KindContext, KindResult } from '../run/context.js';
import { evaluate, PhaseFailure, summarize, valueOf } from '../run/scope.js';
import { callComponent, withTimeout, type CallTarget } from './call-attempt.js';

/**
 * A call phase: evaluate the request, then (through the cache when configured) call the
 * component under retry ∘ breaker ∘ bulkhead ∘ per-attempt timeout, map the result to the
 * phase output; on final failure use the fallback when there is one.
 */
export async function runCall(phase: CallPhase, ctx: KindContext, conceal?: (value: unknown) => unknown): Promise<KindResult> {
  const { execution, scope, run, cancellation } = ctx;
  let request: unknown;
  try {
    // Most requests evaluate synchronously: awaited only when they did not.
    request = valueOf(phase.request, scope);
    if (isPromiseLike(request)) request = await request;
  } catch (error) {
    return fallBack(phase, ctx, toFlowdError(error));
  }
  const phaseLimit = phase.timeoutMs === undefined ? undefined : withTimeout(cancellation, phase.timeoutMs, phase.id);
  const callCancellation = phaseLimit?.cancellation ?? cancellation;
  const target: CallTarget = { ref: run.ref, idempotencyKey: `${execution.executionId}:${run.key}`, attempts: 0, conceal };
  try {
    const call = (): Promise<unknown> => {
      // Write-ahead: a durable execution's journal is stored before a call with side effects.
      const durable = phase.component.pure ? undefined : execution.beforeEffect();
      const calling = (): Promise<unknown> => callComponent(execution, phase, phase.component, phase.retry, phase.attemptTimeoutMs, request, callCancellation, target);
      return durable === undefined ? calling() : durable.then(calling);
    };
    let result: unknown;
    if (phase.cache !== undefined && execution.options.enableCaching !== false) {
      const keyValue = phase.cache.key === undefined ? request : await evaluate(phase.cache.key, scope);
      const key = `${execution.flow.name}\u0000${execution.flow.hash}\u0000${phase.id}\u0000${JSON.stringify(keyValue)}`;
      const cached = await loadCached(execution, key, phase.cache.ttlMs, call, callCancellation);
      run.cached = cached.hit;
      execution.journal.append({ type: 'cache_checked', ref: run.ref, hit: cached.hit });
      if (execution.runtime.chain.hasEventHooks) execution.runtime.chain.emitCache({ execution: execution.context, phase, hit: cached.hit });
      result = cached.value;
    } else {
      result = await call();
    }
    run.attempts = target.attempts;
    let output = phase.output === undefined ? result : valueOf(phase.output, { ...scope, result, request });
    if (isPromiseLike(output)) output = await output;
    if (phase.compensate !== undefined && execution.flow.transactional) {
      run.compensable = { request };
      execution.pending.push({ phase, ref: run.ref, index: ctx.location.index, key: run.key, scope, request, output });
    }
    return { output };
  } catch (error) {
    run.attempts = target.attempts;
    return fallBack(phase, ctx, toFlowdError(error));
  } finally {
    phaseLimit?.dispose();
  }
}

/**
 * Reads through the phase cache. A caller that joined another execution's in-flight load
 * (single-flight) stops at its own deadline or cancellation, not the loader's; and when the
 * loader was stopped by its own cancellation or deadline, the caller loads again for itself.
 */
async function loadCached(
  execution: ExecutionContext,
  key: string,
  ttlMs: number,
  load: () => Promise<unknown>,
  cancellation: Cancellation,
): Promise<{ value: unknown; hit: boolean }> {
  for (;;) {
    try {
      return await raceAbort(execution.runtime.cache.getOrLoad(key, ttlMs, load), cancellation);
    } catch (error) {
      const loaderStopped = error instanceof CancelledError || (error instanceof TimeoutError && error.scope !== 'attempt');
      if (cancellation.aborted || !loaderStopped) throw error;
    }
  }
}

/**
 * After the final failure: the phase's `on_error.fallback` when it has one and the flow is not
 * stopping. A dying flow (deadline, cancellation) or a branch stopped because a sibling failed is
 * not degraded gracefully: it stops. (`cancellation` is the phase's own: it also aborts on fail-fast.)
 */
async function fallBack(phase: CallPhase, ctx: KindContext, error: FlowdError): Promise<KindResult> {
  const { run } = ctx;
  if (phase.fallback === undefined || ctx.cancellation.aborted) throw new PhaseFailure(error, phase.id, run.attempts);
  run.error = summarize(error, undefined, run.attempts);
  try {
    const output = await evaluate(phase.fallback, { ...ctx.scope, error: summarize(error, phase.id, run.attempts) });
    run.fallback = true;
    return { output };
  } catch (fallbackError) {
    throw new PhaseFailure(toFlowdError(fallbackError), phase.id, run.attempts);
  }
}
