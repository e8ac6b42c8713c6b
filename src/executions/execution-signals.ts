import { createHash } from 'node:crypto';
import { FlowdError } from '../errors.js';
import { TERMINAL_STATUSES } from '../engine/record.js';
import type { CompiledFlow } from '../flows/compiled.js';
import { checkPayload, checkSignal } from '../flows/signal-check.js';
import type { FlowCatalog } from '../flows/flow-catalog.js';
import type { ExecutionStore } from '../store/execution-store.js';
import type { Caller } from './caller.js';
import type { ExecutionReads } from './execution-reads.js';

export interface SignalDeps {
  readonly store: ExecutionStore;
  readonly reads: ExecutionReads;
  readonly flows: FlowCatalog;
  /** Tells this replica's worker there is work (a woken execution). */
  readonly wake: () => void;
  /** SIGNAL_MAX_PENDING: signals an execution may hold not taken yet. */
  readonly maxPending: number;
  /** SIGNAL_MAX_BYTES: the largest payload (JSON bytes) a signal or callback may carry. */
  readonly maxBytes: number;
}

export interface SignalAnswer {
  readonly executionId: string;
  readonly signal: string;
  /** `duplicate`: the same Idempotency-Key was delivered already; nothing was stored again. */
  readonly delivery: 'delivered' | 'duplicate';
}

/**
 * Delivers a signal to an execution its caller may act on (POST /executions/{id}/signals/{name}).
 * The signal must be one the execution's flow waits for, with a payload its schema accepts;
 * it is kept until a wait takes it (also when it arrives before the execution reaches the wait).
 */
export async function sendSignal(deps: SignalDeps, executionId: string, name: string, payload: unknown, caller: Caller, idempotencyKey?: string): Promise<SignalAnswer> {
  const found = await deps.reads.find(executionId, caller);
  if (found === undefined) throw notFound(executionId);
  const flow = found.summary === undefined ? deps.flows.get(found.entries[0]?.type === 'execution_started' ? found.entries[0].flow : '') : deps.flows.pinned(found.summary.flow, found.summary.flowHash);
  if (flow === undefined) throw new FlowdError('FLOWD_ERR_SIGNAL_INVALID', `execution "${executionId}" has no loaded flow definition: it takes no signals here`);
  checkSignal(flow, name, payload, `execution "${executionId}" of flow "${flow.name}"`);
  const text = sized(deps, payload ?? null, `signal "${name}"`);
  const outcome = await deps.store.signals.deliver({ executionId, name, payload: text, idempotencyKey, maxPending: deps.maxPending });
  switch (outcome.kind) {
    case 'not_found':
      // Known to this process (in memory only), never stored: nothing durable can take a signal.
      throw new FlowdError('FLOWD_ERR_EXECUTION_ENDED', `execution "${executionId}" is not a durable execution that waits: it takes no signals`);
    case 'ended':
      throw ended(executionId, outcome.status);
    case 'full':
      throw new FlowdError('FLOWD_ERR_LIMIT_EXCEEDED', `execution "${executionId}" holds ${outcome.pending} "${name}" signals no wait has taken yet (SIGNAL_MAX_PENDING=${deps.maxPending}); send more once it has taken some`, {
        details: { retryAfterSeconds: 1 },
      });
    case 'delivered':
    case 'duplicate':
      if (outcome.status === 'waiting') deps.wake();
      return { executionId, signal: name, delivery: outcome.kind };
  }
}

export interface CallbackAnswer {
  readonly executionId: string;
}

/**
 * Uses a callback token (POST /callbacks/{token}): the token is the credential. Its payload is
 * `{ status: 'succeeded', output }` or `{ status: 'failed', error: { message, code? } }`. Checked
 * in this order, so the answer names what the caller can act on: an unknown token (404), a token
 * used already or whose wait timed out (410: no payload would help), an execution that ended
 * (409), the size (413), then a succeeded callback's output against the wait's schema (422) — all
 * before the token is used.
 */
export async function useCallback(deps: SignalDeps, token: string, body: { status: 'succeeded' | 'failed'; output?: unknown; error?: unknown }): Promise<CallbackAnswer> {
  const tokenHash = createHash('sha256').update(token).digest('hex');
  const registration = await deps.store.signals.findCallback(tokenHash);
  if (registration === undefined) throw unknownToken();
  if (registration.state !== 'usable') throw gone(registration.state);
  const stored = await deps.store.get(registration.executionId);
  if (stored !== undefined && TERMINAL_STATUSES.has(stored.summary.status)) throw ended(registration.executionId, stored.summary.status);
  const text = sized(deps, body, 'the callback');
  if (body.status === 'succeeded') {
    const flow: CompiledFlow | undefined = stored === undefined ? undefined : deps.flows.pinned(stored.summary.flow, stored.summary.flowHash);
    const phase = registration.waitKey.split(/[#@]/)[0]!;
    checkPayload(flow?.waits.callbacks.get(phase), body.output, `the callback of phase "${phase}"`);
  }
  const outcome = await deps.store.signals.useCallback(tokenHash, text);
  switch (outcome.kind) {
    case 'delivered':
      deps.wake();
      return { executionId: outcome.executionId };
    case 'used':
    case 'expired':
      throw gone(outcome.kind);
    case 'ended':
      throw ended(outcome.executionId, 'ended');
    case 'not_found':
      throw unknownToken();
  }
}

/** The payload as stored JSON, refused over SIGNAL_MAX_BYTES. */
function sized(deps: SignalDeps, payload: unknown, what: string): string {
  const text = JSON.stringify(payload);
  const bytes = Buffer.byteLength(text);
  if (bytes > deps.maxBytes) {
    throw new FlowdError('FLOWD_ERR_PAYLOAD_TOO_LARGE', `the payload of ${what} is ${bytes} bytes of JSON; at most ${deps.maxBytes} are kept (SIGNAL_MAX_BYTES): send a reference to larger data instead`);
  }
  return text;
}

function notFound(executionId: string): FlowdError {
  return new FlowdError('FLOWD_ERR_EXECUTION_NOT_FOUND', `no execution "${executionId}" (unknown, or expired from the store)`);
}

function ended(executionId: string, status: string): FlowdError {
  return new FlowdError('FLOWD_ERR_EXECUTION_ENDED', `execution "${executionId}" has ended (${status}): it takes no more signals`);
}

function gone(state: 'used' | 'expired'): FlowdError {
  return new FlowdError('FLOWD_ERR_CALLBACK_GONE', `this callback token was ${state === 'used' ? 'used already (a token works once)' : 'not used before its wait timed out'}`);
}

function unknownToken(): FlowdError {
  return new FlowdError('FLOWD_ERR_CALLBACK_UNKNOWN', 'no callback is waiting for this token (check the URL you were given)');
}
