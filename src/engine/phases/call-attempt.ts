import type { AdapterContext } from '../../adapters/types.js';
import { failureOf } from '../../adapters/failures.js';
import { TimeoutError, toFlowdError, type FlowdError } from '../../errors.js';
import type { CallPhase, CompiledComponent, RetrySettings } from '../../flows/compiled.js';
import type { AttemptFailedEntry, EntryDraft, RequestSentEntry, ResponseReceivedEntry } from '../journal/entries.js';
import type { Journal } from '../journal/journal.js';
import { Canceller, type Cancellation } from '../cancellation.js';
import { guardCall, runWithRetry } from '../policies.js';
import type { FlowLogger } from '../logger.js';
import type { ExecutionContext } from '../run/context.js';
import { summarize } from '../run/scope.js';
import { childTraceparent } from '../trace-context.js';

/** Where a call's attempts go in the journal: the phase run (and the compensation, for undo calls). */
export interface CallTarget {
  /** The `phase_started` of the phase. */
  readonly ref: number;
  /** The `compensation_started`, for a compensation's calls. */
  readonly compensation?: number | undefined;
  /** Stable across retries and resumes: `<executionId>:<checkpointKey>[:compensate]`. */
  readonly idempotencyKey: string;
  /** Attempts made so far (read by the phase's journal entry). */
  attempts: number;
  /** Applied to every value this call captures (a callback phase's token is a credential: masked). */
  readonly conceal?: ((value: unknown) => unknown) | undefined;
}

/**
 * Calls a component with retries (call phases and compensations): retry ∘ breaker ∘ bulkhead ∘
 * per-attempt timeout. Every attempt's failure is a journal entry; its request and response are
 * captured as the flow's capture policy says.
 */
export async function callComponent(
  execution: ExecutionContext,
  phase: CallPhase,
  component: CompiledComponent,
  retry: RetrySettings,
  attemptTimeoutMs: number,
  request: unknown,
  cancellation: Cancellation,
  target: CallTarget,
): Promise<unknown> {
  if (component.pure) {
    target.attempts = 1;
    if (cancellation.aborted) throw toFlowdError(cancellation.reason);
    return component.instance.execute(request, new CallContext(execution, phase, component, cancellation, 1, target, undefined, execution.options.traceparent));
  }
  const attempt = (number: number, attemptCancellation: Cancellation): Promise<unknown> => {
    target.attempts = number;
    return guardCall(component, (guarded) => attemptCall(execution, phase, component, attemptTimeoutMs, request, guarded, number, target), attemptCancellation);
  };
  let noted = 0;
  try {
    if (retry.maxAttempts === 1) return await attempt(1, cancellation);
    const runtime = execution.runtime;
    return await runWithRetry(retry, attempt, {
      cancellation,
      random: runtime.random,
      now: () => runtime.clock.now(),
      onRetry: ({ attempt: failed, delayMs, error }) => {
        noted = failed;
        noteFailure(execution.journal, target, failed, error, delayMs);
        if (runtime.chain.hasEventHooks) runtime.chain.emitRetry({ execution: execution.context, phase, attempt: failed, delayMs, error });
      },
    });
  } catch (error) {
    const failure = toFlowdError(error);
    // The last attempt's failure (the retried ones were noted with their backoff; a cancellation
    // during a backoff is not an attempt).
    if (target.attempts > noted) noteFailure(execution.journal, target, target.attempts, failure, undefined);
    throw failure;
  }
}

function noteFailure(journal: Journal, target: CallTarget, attempt: number, error: FlowdError, retryInMs: number | undefined): void {
  const raw = failureOf(error)?.detail;
  const detail = raw === undefined || target.conceal === undefined ? raw : target.conceal(raw);
  const keepDetail = detail !== undefined && journal.capture.policy !== 'none' && journal.admit(detail);
  const entry: EntryDraft<AttemptFailedEntry> = { type: 'attempt_failed', ref: target.ref, attempt, error: summarize(error, undefined, attempt) };
  if (keepDetail) entry.detail = detail;
  if (retryInMs !== undefined) entry.retryInMs = retryInMs;
  if (target.compensation !== undefined) entry.compensation = target.compensation;
  journal.append(entry);
}

/** One attempt with its own timeout; the adapter gets a signal that aborts on timeout or flow abort (made when it reads it). */
async function attemptCall(
  execution: ExecutionContext,
  phase: CallPhase,
  component: CompiledComponent,
  timeoutMs: number,
  request: unknown,
  cancellation: Cancellation,
  attempt: number,
  target: CallTarget,
): Promise<unknown> {
  const limited = withTimeout(cancellation, timeoutMs, phase.id, 'attempt');
  const capture = new AttemptCapture(execution.journal, target, attempt);
  const traceparent = execution.runtime.trace?.attemptStarted(execution.journal, { ref: target.ref, compensation: target.compensation, attempt, component: component.name, adapter: component.adapter }) ?? childTraceparent(execution.options.traceparent);
  try {
    const pending = component.instance.execute(request, new CallContext(execution, phase, component, limited.cancellation, attempt, target, capture.sent, traceparent));
    // An adapter that describes its request does so before it first awaits; the others are shown the evaluated request.
    capture.defaultRequest(request);
    const result = await pending;
    capture.succeeded(result);
    return result;
  } catch (error) {
    capture.failed();
    // When our own signal fired, report why (timeout, deadline, cancellation), not the adapter's abort error.
    if (limited.cancellation.aborted) throw toFlowdError(limited.cancellation.reason);
    throw toFlowdError(error);
  } finally {
    limited.dispose();
  }
}

/**
 * What one attempt captures: with `all`, the request when sent and the response when it came; with
 * `errors`, both only when the attempt failed (kept until then); with `none`, nothing.
 */
class AttemptCapture {
  readonly #journal: Journal;
  readonly #target: CallTarget;
  readonly #attempt: number;
  #described = false;
  #held: { request: unknown; at: number; t: number } | undefined;

  constructor(journal: Journal, target: CallTarget, attempt: number) {
    this.#journal = journal;
    this.#target = target;
    this.#attempt = attempt;
  }

  /** The adapter's own description of what it sent (AdapterContext.sent). */
  readonly sent = (request: Record<string, unknown>): void => {
    this.#described = true;
    this.#request(request);
  };

  defaultRequest(request: unknown): void {
    if (!this.#described) this.#request(request);
  }

  succeeded(received: unknown): void {
    const journal = this.#journal;
    const response = this.#target.conceal === undefined ? received : this.#target.conceal(received);
    if (journal.capture.policy !== 'all' || !journal.admit(response)) return;
    const target = this.#target;
    const entry: EntryDraft<ResponseReceivedEntry> = { type: 'response_received', ref: target.ref, attempt: this.#attempt, response };
    if (target.compensation !== undefined) entry.compensation = target.compensation;
    journal.append(entry);
  }

  failed(): void {
    const held = this.#held;
    if (held === undefined) return;
    this.#held = undefined;
    if (this.#journal.admit(held.request)) this.#append(held.request, held.at, held.t);
  }

  #request(sent: unknown): void {
    const journal = this.#journal;
    const request = this.#target.conceal === undefined ? sent : this.#target.conceal(sent);
    const policy = journal.capture.policy;
    if (policy === 'none') return;
    if (policy === 'errors') {
      this.#held = { request, at: journal.now(), t: performance.now() };
      return;
    }
    if (journal.admit(request)) this.#append(request, undefined, undefined);
  }

  #append(request: unknown, at: number | undefined, t: number | undefined): void {
    const target = this.#target;
    const entry: EntryDraft<RequestSentEntry> = { type: 'request_sent', ref: target.ref, attempt: this.#attempt, request };
    if (target.compensation !== undefined) entry.compensation = target.compensation;
    this.#journal.append(entry, at, t);
  }
}

/**
 * What the adapter gets. Its AbortSignal and logger are made when the adapter reads them (a
 * transform call reads neither; an AbortController costs ~4.5 µs): getters of a class, since an
 * object literal with getters took V8's slow path (~1 µs per call, measured).
 */
class CallContext implements AdapterContext {
  readonly #cancellation: Cancellation;
  readonly #execution: ExecutionContext;
  #logger: FlowLogger | undefined;
  readonly executionId: string;
  readonly flow: string;
  readonly phase: string;
  readonly component: string;
  readonly idempotencyKey: string;

  constructor(
    execution: ExecutionContext,
    phase: CallPhase,
    component: CompiledComponent,
    cancellation: Cancellation,
    readonly attempt: number,
    target: CallTarget,
    readonly sent: AdapterContext['sent'],
    readonly traceparent: string | undefined,
  ) {
    this.#cancellation = cancellation;
    this.#execution = execution;
    this.executionId = execution.executionId;
    this.flow = execution.flow.name;
    this.phase = phase.id;
    this.component = component.name;
    this.idempotencyKey = target.idempotencyKey;
  }

  get signal(): AbortSignal {
    return this.#cancellation.signal;
  }

  get logger(): FlowLogger {
    return (this.#logger ??= this.#execution.logger.child({ phase: this.phase, attempt: this.attempt }));
  }
}

/** A child cancellation that also aborts after `ms` with a TimeoutError naming the phase. */
export function withTimeout(
  parent: Cancellation,
  ms: number,
  phase: string,
  scope: 'attempt' | 'phase' = 'phase',
): { cancellation: Cancellation; dispose: () => void } {
  const { canceller, dispose } = Canceller.following(parent);
  const timer = setTimeout(() => {
    canceller.abort(
      new TimeoutError(scope, scope === 'attempt' ? `phase "${phase}": call timed out after ${ms} ms` : `phase "${phase}" exceeded its ${ms} ms deadline`),
    );
  }, ms);
  return {
    cancellation: canceller,
    dispose: () => {
      clearTimeout(timer);
      dispose();
    },
  };
}
