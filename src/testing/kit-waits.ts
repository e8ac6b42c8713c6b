import type { Journal } from '../engine/journal/journal.js';
import type { Clock, ReceivedSignal, RunSuspension } from '../engine/runtime.js';
import { FlowdError } from '../errors.js';

interface Waiting {
  readonly journal: Journal;
  readonly suspension: RunSuspension;
}

interface Signal {
  readonly name: string;
  readonly payload: unknown;
  readonly at: number;
  takenBy: string | undefined;
}

/**
 * Waits in the test kit (docs/waits.md), in memory and on a fake clock: a run that reaches a wait
 * stops (`waiting`, like a durable run) and the test moves it on with `signal`, `callback` or
 * `advance` — a three-day wait takes milliseconds. The same engine code runs as in the service;
 * only the store is this object.
 */
export class KitWaits {
  readonly clock: Clock;
  #offset = 0;
  readonly #waiting = new Map<string, Waiting>();
  readonly #signals = new Map<string, Signal[]>();
  /** Callback tokens' waits, by execution id and phase run key. */
  readonly #callbacks = new Map<string, { readonly signal: string; readonly expiresAt: number; used: boolean }>();

  constructor(now: () => number = Date.now) {
    this.clock = { now: () => now() + this.#offset };
  }

  /** Observer methods the engine calls: the run stops and is kept here. */
  suspend(journal: Journal, suspension: RunSuspension): Promise<void> {
    this.#waiting.set(journal.executionId, { journal, suspension });
    return Promise.resolve();
  }

  takeSignal(journal: Journal, name: string, key: string): Promise<ReceivedSignal | undefined> {
    const list = this.#signals.get(journal.executionId) ?? [];
    const signal = list.find((one) => one.takenBy === key && one.name === name) ?? list.find((one) => one.takenBy === undefined && one.name === name);
    if (signal === undefined) return Promise.resolve(undefined);
    signal.takenBy = key;
    return Promise.resolve({ payload: signal.payload, receivedAt: signal.at });
  }

  registerCallback(journal: Journal, callback: { tokenHash: string; key: string; signal: string; expiresAt: number }): Promise<void> {
    this.#callbacks.set(`${journal.executionId}\u0000${callback.key}`, { signal: callback.signal, expiresAt: callback.expiresAt, used: false });
    return Promise.resolve();
  }

  /** The journal of a waiting execution, taken out of the waiting set (it is about to resume). */
  resume(executionId: string): Journal {
    const waiting = this.#waiting.get(executionId);
    if (waiting === undefined) throw new FlowdError('FLOWD_ERR_EXECUTION_ENDED', `execution "${executionId}" is not waiting (it ended, or never waited)`);
    this.#waiting.delete(executionId);
    return waiting.journal;
  }

  /** Keeps a signal for the execution (taken when its wait runs). */
  deliver(executionId: string, name: string, payload: unknown): void {
    const list = this.#signals.get(executionId) ?? [];
    list.push({ name, payload, at: this.clock.now(), takenBy: undefined });
    this.#signals.set(executionId, list);
  }

  /** Delivers a callback to the wait of phase `phase` (its first run key, or the key given). */
  answerCallback(executionId: string, phase: string, body: unknown): void {
    const found = [...this.#callbacks.entries()].find(([key]) => {
      const [id, runKey] = key.split('\u0000') as [string, string];
      return id === executionId && (runKey === phase || runKey.split(/[#@]/)[0] === phase);
    });
    if (found === undefined) throw new FlowdError('FLOWD_ERR_CALLBACK_UNKNOWN', `execution "${executionId}" has no callback waiting in phase "${phase}"`);
    const [, callback] = found;
    if (callback.used || callback.expiresAt <= this.clock.now()) throw new FlowdError('FLOWD_ERR_CALLBACK_GONE', `the callback of phase "${phase}" was used already or timed out`);
    callback.used = true;
    this.deliver(executionId, callback.signal, body);
  }

  /** Moves the fake clock on; returns the executions whose wait is now due. */
  advance(ms: number): string[] {
    this.#offset += ms;
    const now = this.clock.now();
    return [...this.#waiting.entries()].filter(([, waiting]) => waiting.suspension.until <= now).map(([id]) => id);
  }

  /** The flow of a waiting execution (throws when it is not waiting). */
  flowOf(executionId: string): string {
    const waiting = this.#waiting.get(executionId);
    if (waiting === undefined) throw new FlowdError('FLOWD_ERR_EXECUTION_ENDED', `execution "${executionId}" is not waiting (it ended, or never waited)`);
    return waiting.journal.started.flow;
  }
}
