import { createHash, randomBytes } from 'node:crypto';
import { FlowdError, toFlowdError } from '../../errors.js';
import type { CallPhase, CompiledOnTimeout, WaitPhase } from '../../flows/compiled.js';
import { SecretStore } from '../../flows/secrets.js';
import type { WaitFor, WaitStartedEntry } from '../journal/entries.js';
import { isoTime } from '../iso-time.js';
import type { KindContext, KindResult } from '../run/context.js';
import { evaluate, type Scope } from '../run/scope.js';
import { SuspendRun } from '../run/suspension.js';
import { sleep } from '../sleep.js';
import { runCall } from './call.js';

/**
 * A `wait` phase (docs/waits.md): for a time (`for`, `until`) or for a signal (with a timeout).
 * Its due time is fixed once, in `wait_started`; a resumed run finds that entry and keeps waiting
 * for the same moment. A durable run stops (suspends) instead of sleeping through a long wait.
 */
export async function runWait(phase: WaitPhase, ctx: KindContext): Promise<KindResult> {
  ctx.run.attempts = 1;
  const started = priorWait(ctx) ?? startWait(ctx, phase.for, await dueTime(phase, ctx), phase.signal);
  const outcome = await waitOn(ctx, phase.id, started);
  if (outcome.kind === 'signal') return { output: outcome.payload };
  if (phase.for === 'time') return { output: { waitedUntil: isoTime(started.until) } };
  return timedOut(phase.id, phase.onTimeout, ctx, `signal "${phase.signal}"`, phase.timeoutMs ?? 0);
}

/**
 * A call phase with `callback` (a task token): the call is made once with a single-use token in
 * its scope (`callback.token`, `callback.url`), then the phase waits for `POST /callbacks/{token}`.
 * The phase's output is the callback's `output`; a callback reporting failure fails the phase.
 */
export async function runCallback(phase: CallPhase, ctx: KindContext): Promise<KindResult> {
  const { execution, run } = ctx;
  const settings = phase.callback!;
  let started = priorWait(ctx);
  if (started === undefined) {
    const observer = execution.observer;
    if (observer?.registerCallback === undefined || observer.suspend === undefined) {
      throw notDurable(phase.id, `waits for a callback, which only a durable execution can`);
    }
    const token = randomBytes(32).toString('base64url');
    const signal = `callback:${run.key}`;
    const until = execution.journal.now() + settings.timeoutMs;
    await observer.registerCallback(execution.journal, { tokenHash: hashToken(token), key: run.key, signal, expiresAt: until });
    const callback = { token, url: execution.runtime.callbackUrl?.(token) ?? `/callbacks/${token}` };
    // The token is the callback's only credential: what the journal captures of the call shows it masked.
    const concealed = new SecretStore();
    concealed.add(token);
    const called = await runCall(phase, { ...ctx, scope: { ...ctx.scope, callback } as Scope }, (value) => concealed.mask(value));
    started = startWait(ctx, 'callback', until, signal, called.output);
  }
  const outcome = await waitOn(ctx, phase.id, started);
  if (outcome.kind === 'due') return timedOut(phase.id, settings.onTimeout, ctx, 'its callback', settings.timeoutMs);
  const answer = (outcome.payload ?? {}) as { status?: string; output?: unknown; error?: { message?: string; code?: string } };
  if (answer.status === 'failed') {
    const detail = answer.error?.message ?? 'no message';
    throw new FlowdError('FLOWD_ERR_CALLBACK_FAILED', `the callback of phase "${phase.id}" reported a failure: ${detail}`, {
      details: answer.error?.code === undefined ? undefined : { reason: answer.error.code },
    });
  }
  return { output: answer.output };
}

/** SHA-256 of a callback token, hex: what the store keeps and the callback route looks up. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** The `wait_started` of this phase run in an earlier run of the execution (a resume). */
function priorWait(ctx: KindContext): WaitStartedEntry | undefined {
  const entries = ctx.execution.journal.entries;
  for (let i = entries.length - 1; i >= 0; i--) {
    const entry = entries[i]!;
    if (entry.type === 'wait_started' && entry.key === ctx.run.key) return entry;
  }
  return undefined;
}

function startWait(ctx: KindContext, waitFor: WaitFor, until: number, signal: string | undefined, callOutput?: unknown): WaitStartedEntry {
  const journal = ctx.execution.journal;
  const entry: { -readonly [K in keyof WaitStartedEntry]?: WaitStartedEntry[K] } = { type: 'wait_started', ref: ctx.run.ref, key: ctx.run.key, for: waitFor, until };
  if (signal !== undefined) entry.signal = signal;
  if (callOutput !== undefined) entry.callOutput = callOutput;
  const position = journal.append(entry as Omit<WaitStartedEntry, 'at' | 't'>);
  return journal.entries[position] as WaitStartedEntry;
}

/** When a time wait ends: `for` from now, or the `until` expression's moment. */
async function dueTime(phase: WaitPhase, ctx: KindContext): Promise<number> {
  const now = ctx.execution.journal.now();
  if (phase.for === 'signal') return now + (phase.timeoutMs ?? 0);
  if (phase.durationMs !== undefined) return now + phase.durationMs;
  const value = await evaluate(phase.until!, ctx.scope);
  const at = typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(at)) {
    throw new FlowdError('FLOWD_ERR_EXPRESSION_FAILED', `wait.until of phase "${phase.id}" gave ${JSON.stringify(value) ?? 'undefined'}: expected an ISO 8601 timestamp (e.g. "2026-12-24T09:00:00Z") or ms since the epoch`);
  }
  return at;
}

type WaitOutcome = { readonly kind: 'signal'; readonly payload: unknown } | { readonly kind: 'due' };

/**
 * Waits for `started`: takes its signal when one is there; else, when the moment has come, it is
 * due; else a durable run suspends (always for a signal, for a time when it is longer than
 * WAIT_INLINE_MS or outlasts the run's deadline) and any other run sleeps, within its deadline.
 */
async function waitOn(ctx: KindContext, phaseId: string, started: WaitStartedEntry): Promise<WaitOutcome> {
  const { execution, run } = ctx;
  const observer = execution.observer;
  for (;;) {
    if (started.signal !== undefined && observer?.takeSignal !== undefined) {
      const received = await observer.takeSignal(execution.journal, started.signal, started.key);
      if (received !== undefined) {
        execution.journal.append({ type: 'signal_received', ref: run.ref, signal: started.signal, payload: received.payload, receivedAt: received.receivedAt });
        return { kind: 'signal', payload: received.payload };
      }
    }
    if (ctx.cancellation.aborted) throw toFlowdError(ctx.cancellation.reason);
    const now = execution.journal.now();
    const remaining = started.until - now;
    if (remaining <= 0) return { kind: 'due' };
    const fits = started.until <= execution.deadlineAt;
    if (observer?.suspend !== undefined && (started.signal !== undefined || remaining > execution.runtime.waitInlineMs || !fits)) {
      throw new SuspendRun({ phase: phaseId, for: started.for, until: started.until, signal: started.signal });
    }
    if (started.signal !== undefined) throw notDurable(phaseId, `waits for ${started.for === 'callback' ? 'a callback' : `signal "${started.signal}"`}, which only a durable execution can`);
    if (!fits) throw notDurable(phaseId, `waits until ${isoTime(started.until)}, after this execution's deadline (${isoTime(execution.deadlineAt)})`);
    await sleep(remaining, ctx.cancellation.signal);
  }
}

async function timedOut(phaseId: string, onTimeout: CompiledOnTimeout, ctx: KindContext, what: string, timeoutMs: number): Promise<KindResult> {
  if (onTimeout.kind === 'output') return { output: await evaluate(onTimeout.output, ctx.scope) };
  throw new FlowdError('FLOWD_ERR_SIGNAL_TIMEOUT', `phase "${phaseId}" waited ${timeoutMs} ms for ${what}, which did not come (on_timeout: fail)`);
}

function notDurable(phaseId: string, what: string): FlowdError {
  return new FlowdError('FLOWD_ERR_WAIT_NOT_DURABLE', `phase "${phaseId}" ${what}: start it durably (persistence: all, or Prefer: respond-async) so the execution can wait without holding a request`);
}
