/**
 * How the engine passes "stop now" around inside an execution, instead of AbortSignals.
 *
 * Why not AbortSignal: on Node 20 `new AbortController()` costs ~4.5 µs and an abort listener
 * added and removed a few more, and the engine made one per execution, per parallel block or map
 * and per call attempt — a tenth of the CPU of a small transform flow, for a signal most runs
 * never read. A Cancellation is a plain object with the same meaning: `aborted` and `reason` are
 * read between phases, engine code subscribes with `onAbort` (a function in an array, no
 * EventTarget), and a real AbortSignal is made only when something outside the engine needs one
 * (an adapter that reads `ctx.signal`, a sleep, a child execution, cockatiel's policies): `signal`
 * makes it on first use, already aborted with the same reason when the abort came first.
 */
export interface Cancellation {
  readonly aborted: boolean;
  /** Why it aborted (a FlowdError for the engine's own aborts); undefined while not aborted. */
  readonly reason: unknown;
  /** A real AbortSignal that aborts with this Cancellation (made on first read, then the same one). */
  readonly signal: AbortSignal;
  /**
   * Calls `listener` once with the reason when this aborts — at once (synchronously) when it
   * already has, so a subscriber never misses an abort. Returns how to unsubscribe.
   */
  onAbort(listener: (reason: unknown) => void): () => void;
}

/** The engine's own cancellations: aborted by `abort(reason)`; the first reason wins. */
export class Canceller implements Cancellation {
  #aborted = false;
  #reason: unknown;
  #controller: AbortController | undefined;
  #listeners: ((reason: unknown) => void)[] | undefined;

  get aborted(): boolean {
    return this.#aborted;
  }

  get reason(): unknown {
    return this.#reason;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
    const listeners = this.#listeners;
    if (listeners === undefined) return;
    this.#listeners = undefined;
    for (const listener of listeners) {
      try {
        listener(reason);
      } catch (error) {
        // As an EventTarget does: one failing listener neither stops the others nor the abort;
        // its error surfaces as an uncaught exception.
        process.nextTick(() => {
          throw error;
        });
      }
    }
  }

  onAbort(listener: (reason: unknown) => void): () => void {
    if (this.#aborted) {
      listener(this.#reason);
      return noop;
    }
    (this.#listeners ??= []).push(listener);
    return () => {
      const listeners = this.#listeners;
      const at = listeners === undefined ? -1 : listeners.indexOf(listener);
      if (at >= 0) listeners!.splice(at, 1);
    };
  }

  /** A Canceller that aborts (with the same reason) when `parent` does; `dispose` unsubscribes it. */
  static following(parent: Cancellation): { canceller: Canceller; dispose: () => void } {
    const canceller = new Canceller();
    const dispose = parent.onAbort((reason) => canceller.abort(reason));
    return { canceller, dispose };
  }
}

/** A real AbortSignal (from outside the engine: a caller, cockatiel) seen as a Cancellation. */
export class SignalCancellation implements Cancellation {
  constructor(readonly signal: AbortSignal) {}

  get aborted(): boolean {
    return this.signal.aborted;
  }

  get reason(): unknown {
    return this.signal.aborted ? (this.signal.reason as unknown) : undefined;
  }

  onAbort(listener: (reason: unknown) => void): () => void {
    const signal = this.signal;
    if (signal.aborted) {
      listener(signal.reason);
      return noop;
    }
    const onAbort = (): void => listener(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    return () => signal.removeEventListener('abort', onAbort);
  }
}

function noop(): void {}
