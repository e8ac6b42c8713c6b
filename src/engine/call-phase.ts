import type { AdapterContext } from '../adapters/types.js';
import { CancelledError, TimeoutError, toFlowdError, type FlowdError } from '../errors.js';
import type { CallPhase, CompiledComponent, RetrySettings } from '../flows/compiled.js';
import { checkpointKey, evaluate, PhaseFailure, summarize, type Execution, type Location, type Scope } from './execution.js';
import { guardCall, raceAbort, runWithRetry } from './policies.js';
import type { PhaseRecord } from './record.js';

/**
 * A call phase: evaluate the request, then (through the cache when configured) call the
 * component under retry ∘ breaker ∘ bulkhead ∘ per-attempt timeout, map the result to the
 * phase output; on final failure use the fallback when there is one.
 */
export async function runCallPhase(
  execution: Execution,
  phase: CallPhase,
  scope: Scope,
  location: Location,
  signal: AbortSignal,
  record: PhaseRecord,
): Promise<unknown> {
  record.component = phase.component.name;
  let request: unknown;
  try {
    request = await evaluate(phase.request, scope);
  } catch (error) {
    return handleFailure(execution, phase, scope, record, toFlowdError(error), signal);
  }
  const phaseLimit = phase.timeoutMs === undefined ? undefined : withTimeout(signal, phase.timeoutMs, phase.id);
  const callSignal = phaseLimit?.signal ?? signal;
  try {
    const call = (): Promise<unknown> =>
      callComponent(execution, phase, phase.component, phase.retry, phase.attemptTimeoutMs, request, callSignal, record, location);
    let result: unknown;
    if (phase.cache !== undefined && execution.options.enableCaching !== false) {
      const keyValue = phase.cache.key === undefined ? request : await evaluate(phase.cache.key, scope);
      const key = `${execution.flow.name}\u0000${execution.flow.hash}\u0000${phase.id}\u0000${JSON.stringify(keyValue)}`;
      const cached = await loadCached(execution, key, phase.cache.ttlMs, call, callSignal);
      record.cached = cached.hit;
      execution.runtime.chain.emitCache({ execution: execution.context, phase, hit: cached.hit });
      result = cached.value;
    } else {
      result = await call();
    }
    const output = phase.output === undefined ? result : await evaluate(phase.output, { ...scope, result, request });
    if (phase.compensate !== undefined && execution.flow.transactional) {
      execution.pending.push({ phase, index: location.index, key: checkpointKey(phase.id, location), scope, request, output });
    }
    return output;
  } catch (error) {
    return handleFailure(execution, phase, scope, record, toFlowdError(error), signal);
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
  execution: Execution,
  key: string,
  ttlMs: number,
  load: () => Promise<unknown>,
  signal: AbortSignal,
): Promise<{ value: unknown; hit: boolean }> {
  for (;;) {
    try {
      return await raceAbort(execution.runtime.cache.getOrLoad(key, ttlMs, load), signal);
    } catch (error) {
      const loaderStopped = error instanceof CancelledError || (error instanceof TimeoutError && error.scope !== 'attempt');
      if (signal.aborted || !loaderStopped) throw error;
    }
  }
}

async function handleFailure(
  execution: Execution,
  phase: CallPhase,
  scope: Scope,
  record: PhaseRecord,
  error: FlowdError,
  signal: AbortSignal,
): Promise<unknown> {
  // A dying flow (deadline, cancellation) or a branch stopped because a sibling failed is not
  // degraded gracefully: it stops. (`signal` is the phase's own: it also aborts on fail-fast.)
  const flowStopping = signal.aborted;
  if (phase.fallback === undefined || flowStopping) throw new PhaseFailure(error, phase.id, record.attempts);
  record.error = summarize(error, undefined, record.attempts);
  try {
    const output = await evaluate(phase.fallback, { ...scope, error: summarize(error, phase.id, record.attempts) });
    record.fallback = true;
    execution.record.fallbackExecuted = true;
    execution.record.errorHandled = true;
    execution.logger.warn({ phase: phase.id, err: error }, 'phase fell back');
    return output;
  } catch (fallbackError) {
    throw new PhaseFailure(toFlowdError(fallbackError), phase.id, record.attempts);
  }
}

/** Calls a component with retries; used by call phases and by compensations. */
export function callComponent(
  execution: Execution,
  phase: CallPhase,
  component: CompiledComponent,
  retry: RetrySettings,
  attemptTimeoutMs: number,
  request: unknown,
  signal: AbortSignal,
  record: { attempts: number },
  location: Location,
  idempotencySuffix = '',
): Promise<unknown> {
  const runtime = execution.runtime;
  const idempotencyKey = `${execution.record.executionId}:${checkpointKey(phase.id, location)}${idempotencySuffix}`;
  if (component.pure) {
    record.attempts = 1;
    if (signal.aborted) return Promise.reject(toFlowdError(signal.reason));
    return component.instance.execute(request, adapterContext(execution, phase, component, signal, 1, idempotencyKey));
  }
  if (retry.maxAttempts === 1) {
    record.attempts = 1;
    return guardCall(component, (guarded) => attemptCall(execution, phase, component, attemptTimeoutMs, request, guarded, 1, idempotencyKey), signal);
  }
  return runWithRetry(
    retry,
    (attempt, attemptSignal) => {
      record.attempts = attempt;
      return guardCall(component, (guarded) => attemptCall(execution, phase, component, attemptTimeoutMs, request, guarded, attempt, idempotencyKey), attemptSignal);
    },
    {
      signal,
      random: runtime.random,
      now: () => runtime.clock.now(),
      onRetry: ({ attempt, delayMs, error }) => {
        execution.logger.info({ phase: phase.id, attempt, delayMs, err: error }, 'retrying phase');
        runtime.chain.emitRetry({ execution: execution.context, phase, attempt, delayMs, error });
      },
    },
  );
}

function adapterContext(
  execution: Execution,
  phase: CallPhase,
  component: CompiledComponent,
  signal: AbortSignal,
  attempt: number,
  idempotencyKey: string,
): AdapterContext {
  return {
    signal,
    logger: execution.logger.child({ phase: phase.id, attempt }),
    attempt,
    executionId: execution.record.executionId,
    flow: execution.flow.name,
    phase: phase.id,
    component: component.name,
    idempotencyKey,
    traceparent: execution.options.traceparent,
  };
}

/** One attempt with its own timeout; the adapter gets a signal that aborts on timeout or flow abort. */
async function attemptCall(
  execution: Execution,
  phase: CallPhase,
  component: CompiledComponent,
  timeoutMs: number,
  request: unknown,
  signal: AbortSignal,
  attempt: number,
  idempotencyKey: string,
): Promise<unknown> {
  const limited = withTimeout(signal, timeoutMs, phase.id, 'attempt');
  try {
    return await component.instance.execute(request, adapterContext(execution, phase, component, limited.signal, attempt, idempotencyKey));
  } catch (error) {
    // When our own signal fired, report why (timeout, deadline, cancellation), not the adapter's abort error.
    if (limited.signal.aborted) throw toFlowdError(limited.signal.reason);
    throw toFlowdError(error);
  } finally {
    limited.dispose();
  }
}

/** A child signal that also aborts after `ms` with a TimeoutError naming the phase. */
export function withTimeout(
  parent: AbortSignal,
  ms: number,
  phase: string,
  scope: 'attempt' | 'phase' = 'phase',
): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(parent.reason);
  if (parent.aborted) controller.abort(parent.reason);
  else parent.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(() => {
    controller.abort(
      new TimeoutError(scope, scope === 'attempt' ? `phase "${phase}": call timed out after ${ms} ms` : `phase "${phase}" exceeded its ${ms} ms deadline`),
    );
  }, ms);
  return {
    signal: controller.signal,
    dispose: () => {
      clearTimeout(timer);
      parent.removeEventListener('abort', onAbort);
    },
  };
}
