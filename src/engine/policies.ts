import {
  BrokenCircuitError,
  BulkheadRejectedError as CockatielBulkheadRejected,
  ConsecutiveBreaker,
  DelegateBackoff,
  SamplingBreaker,
  bulkhead,
  circuitBreaker,
  handleWhen,
  retry,
  type BulkheadPolicy,
  type CircuitBreakerPolicy,
  type IRetryBackoffContext,
  type RetryPolicy,
} from 'cockatiel';
import {
  BulkheadRejectedError,
  CircuitOpenError,
  ComponentError,
  TimeoutError,
  isFlowdError,
  toFlowdError,
  type FlowdError,
} from '../errors.js';
import { RETRY_CATEGORIES, failureOf } from '../adapters/failures.js';
import type { RetryOn, RetrySettings } from '../flows/compiled.js';
import type { CircuitBreakerDefinition, RetryPolicyDefinition } from '../flows/schema.js';
import { SignalCancellation, type Cancellation } from './cancellation.js';

/** Safe defaults: at most 3 attempts, exponential backoff with full jitter, capped delays. */
export const DEFAULT_RETRY: RetrySettings = Object.freeze({
  maxAttempts: 3,
  initialDelayMs: 100,
  backoffFactor: 2,
  maxDelayMs: 2000,
  jitter: 'full',
  retryOn: new Set<RetryOn>(RETRY_CATEGORIES),
  budgetMs: undefined,
});

/** Merges retry policies field by field, later ones winning (built-in < flow < component < phase). */
export function resolveRetry(...layers: (RetryPolicyDefinition | undefined)[]): RetrySettings {
  let settings = DEFAULT_RETRY;
  for (const layer of layers) {
    if (layer === undefined) continue;
    settings = {
      maxAttempts: layer.max_attempts ?? settings.maxAttempts,
      initialDelayMs: layer.initial_delay_ms ?? settings.initialDelayMs,
      backoffFactor: layer.backoff_factor ?? settings.backoffFactor,
      maxDelayMs: layer.max_delay_ms ?? settings.maxDelayMs,
      jitter: layer.jitter ?? settings.jitter,
      retryOn: layer.retry_on === undefined ? settings.retryOn : new Set(layer.retry_on),
      budgetMs: layer.budget_ms ?? settings.budgetMs,
    };
  }
  return settings;
}

/** Whether `error` is a failure the policy retries. Input, expression and egress errors never are. */
export function isRetryable(error: unknown, retryOn: ReadonlySet<RetryOn>): boolean {
  if (error instanceof TimeoutError) return error.scope === 'attempt' && retryOn.has('timeout');
  const failure = failureOf(error);
  return failure?.category !== undefined && failure.retryable && retryOn.has(failure.category);
}

/**
 * Whether a failure says the component is unhealthy. 4xx answers mean the upstream works (they
 * never count against its circuit); an unreadable answer (protocol) does count.
 */
export function countsAsBreakerFailure(error: unknown): boolean {
  if (error instanceof TimeoutError) return error.scope === 'attempt';
  if (error instanceof ComponentError && error.kind === 'protocol') return true;
  const failure = failureOf(error);
  return failure !== undefined && failure.retryable && failure.category !== '408';
}

export interface RetryObserver {
  (event: { attempt: number; delayMs: number; error: FlowdError }): void;
}

/** What one run of a shared retry policy needs of its caller: its clock, random source, observer and start time. */
interface RetryRun {
  readonly startedAt: number;
  readonly now: () => number;
  readonly random: () => number;
  readonly onRetry: RetryObserver | undefined;
  /** Once it aborts, a failed attempt is not retried (what cockatiel does for an aborted signal). */
  readonly cancellation: Cancellation;
  /**
   * Keeps the process alive during this run's backoff. cockatiel's own delay timer is unref'd (it
   * is not cancelled when a run is aborted, and must not hold a closing process), so without this
   * a CLI run or a `node --test` file would exit in the middle of a retry.
   */
  hold?: ReturnType<typeof setTimeout> | undefined;
}

/**
 * The failure of one attempt, tagged with its run. A retry policy is shared by every call of a
 * phase, so its predicate, backoff and `onRetry` event learn the run's budget start, clock,
 * random source and observer from the error they are handed.
 */
class FailedAttempt {
  constructor(
    readonly error: unknown,
    readonly run: RetryRun,
  ) {}
}

/** Built once per retry settings (a compiled phase's or compensation's), on first use. */
const retryPolicies = new WeakMap<RetrySettings, RetryPolicy>();

function retryPolicyFor(settings: RetrySettings): RetryPolicy {
  let policy = retryPolicies.get(settings);
  if (policy === undefined) {
    policy = buildRetryPolicy(settings);
    retryPolicies.set(settings, policy);
  }
  return policy;
}

/**
 * cockatiel's retry with a delegate backoff that applies the factor, the cap, jitter,
 * `Retry-After` and the budget. Holds no per-call state: that travels in each FailedAttempt.
 */
function buildRetryPolicy(settings: RetrySettings): RetryPolicy {
  const withinBudget = (run: RetryRun): boolean => settings.budgetMs === undefined || run.now() - run.startedAt < settings.budgetMs;
  const backoff = new DelegateBackoff<IRetryBackoffContext<unknown>>((context) => {
    const { error, run } = (context.result as unknown as { error: FailedAttempt }).error;
    const exponential = Math.min(settings.maxDelayMs, settings.initialDelayMs * settings.backoffFactor ** (context.attempt - 1));
    let delay = settings.jitter === 'full' ? Math.floor(run.random() * exponential) : exponential;
    const retryAfter = retryAfterMs(error);
    if (retryAfter !== undefined) delay = Math.max(delay, Math.min(retryAfter, settings.maxDelayMs));
    if (settings.budgetMs !== undefined) delay = Math.max(0, Math.min(delay, settings.budgetMs - (run.now() - run.startedAt)));
    return delay;
  });
  const policy = retry(
    handleWhen((failure) => failure instanceof FailedAttempt && !failure.run.cancellation.aborted && isRetryable(failure.error, settings.retryOn) && withinBudget(failure.run)),
    { maxAttempts: settings.maxAttempts - 1, backoff },
  );
  policy.onRetry((event) => {
    if (!('error' in event)) return;
    const { error, run } = event.error as unknown as FailedAttempt;
    run.hold = setTimeout(keepAlive, event.delay + 1);
    run.onRetry?.({ attempt: event.attempt, delayMs: event.delay, error: toFlowdError(error) });
  });
  return policy;
}

/**
 * Runs `attempt` (called with its 1-based number) under the retry settings. Resolves or rejects
 * with a FlowdError as soon as `cancellation` aborts, even during a backoff delay.
 */
export function runWithRetry<T>(
  settings: RetrySettings,
  attempt: (attemptNumber: number, cancellation: Cancellation) => Promise<T>,
  options: { cancellation: Cancellation; random: () => number; now: () => number; onRetry?: RetryObserver | undefined },
): Promise<T> {
  const cancellation = options.cancellation;
  const run: RetryRun = { startedAt: options.now(), now: options.now, random: options.random, onRetry: options.onRetry, cancellation };
  // cockatiel gets no AbortSignal (making one costs more than the rest of a call's bookkeeping):
  // it reads only `signal.aborted`, after a failed attempt, to give up instead of backing off —
  // the policy's predicate asks the run's cancellation that instead, and raceAbort below stops
  // the run at once when it aborts.
  const attempts = retryPolicyFor(settings).execute(async ({ attempt: retries }) => {
    try {
      if (cancellation.aborted) throw toFlowdError(cancellation.reason);
      return await attempt(retries + 1, cancellation);
    } catch (error) {
      throw new FailedAttempt(error, run);
    }
  });
  const result = raceAbort(attempts, cancellation);
  const release = (): void => clearTimeout(run.hold);
  result.then(release, release);
  return result;
}

function keepAlive(): void {}

function retryAfterMs(error: unknown): number | undefined {
  return failureOf(error)?.retryAfterMs;
}

/** Rejects with the cancellation's reason as soon as it aborts, without waiting for `promise`. */
export function raceAbort<T>(promise: Promise<T>, cancellation: Cancellation): Promise<T> {
  if (cancellation.aborted) {
    promise.catch(() => {});
    return Promise.reject(toFlowdError(cancellation.reason));
  }
  return new Promise<T>((resolve, reject) => {
    const detach = cancellation.onAbort((reason) => reject(toFlowdError(reason)));
    promise.then(
      (value) => {
        detach();
        resolve(value);
      },
      (error: unknown) => {
        detach();
        // A failure that ends a retried run comes out of the shared policy still tagged with its run.
        reject(toFlowdError(error instanceof FailedAttempt ? error.error : error));
      },
    );
  });
}

export const DEFAULT_HALF_OPEN_AFTER_MS = 10_000;

export function buildBreaker(definition: CircuitBreakerDefinition): CircuitBreakerPolicy {
  const halfOpenAfter = definition.half_open_after_ms ?? DEFAULT_HALF_OPEN_AFTER_MS;
  const breaker =
    definition.failure_ratio !== undefined
      ? new SamplingBreaker({
          threshold: definition.failure_ratio,
          duration: definition.window_ms ?? 30_000,
          minimumRps: (definition.min_calls ?? 10) / ((definition.window_ms ?? 30_000) / 1000),
        })
      : new ConsecutiveBreaker(definition.consecutive_failures ?? 5);
  return circuitBreaker(handleWhen(countsAsBreakerFailure), { halfOpenAfter, breaker });
}

export function buildBulkhead(maxConcurrent: number, maxQueue: number): BulkheadPolicy {
  return bulkhead(maxConcurrent, maxQueue);
}

interface GuardedComponent {
  name: string;
  breaker: CircuitBreakerPolicy | undefined;
  bulkhead: BulkheadPolicy | undefined;
  breakerHalfOpenAfterMs: number;
}

/**
 * Runs one call through the component's breaker and bulkhead, translating their errors into
 * flowd's. `call` must reject with FlowdErrors only: a component with neither policy is called
 * directly, with nothing to translate.
 */
export function guardCall<T>(component: GuardedComponent, call: (cancellation: Cancellation) => Promise<T>, cancellation: Cancellation): Promise<T> {
  if (component.breaker === undefined && component.bulkhead === undefined) return call(cancellation);
  return guardWithPolicies(component, call, cancellation);
}

/** cockatiel's breaker and bulkhead take and hand on real AbortSignals (a queued call stops when its signal aborts). */
async function guardWithPolicies<T>(component: GuardedComponent, call: (cancellation: Cancellation) => Promise<T>, cancellation: Cancellation): Promise<T> {
  const viaBulkhead =
    component.bulkhead === undefined
      ? (s: AbortSignal) => call(new SignalCancellation(s))
      : (s: AbortSignal) => component.bulkhead!.execute(({ signal: inner }) => call(new SignalCancellation(inner)), s);
  try {
    if (component.breaker === undefined) return await viaBulkhead(cancellation.signal);
    return await component.breaker.execute(({ signal: inner }) => viaBulkhead(inner), cancellation.signal);
  } catch (error) {
    if (error instanceof BrokenCircuitError) {
      throw new CircuitOpenError(component.name, Math.ceil(component.breakerHalfOpenAfterMs / 1000), { cause: error });
    }
    if (error instanceof CockatielBulkheadRejected) throw new BulkheadRejectedError(component.name, { cause: error });
    throw isFlowdError(error) ? error : toFlowdError(error);
  }
}
