import { failureOf } from './failures.js';

/**
 * One connection a component shares between its calls (the message brokers' adapters): opened at
 * the first call, opened again after it ended, dropped when a call found it stuck, closed at
 * shutdown. Concurrent calls share one opening; a failed opening is not kept, so the next call
 * tries again.
 */
export class LazyConnection<T> {
  #opening: Promise<T> | undefined;
  /** What `#opening` resolved to, once it has. */
  #current: T | undefined;

  /**
   * @param connect opens a connection; it calls `ended` when that connection ends (closed, lost),
   *   so the next call opens a new one (a newer connection is never forgotten by an older one's end)
   * @param fail turns what connecting threw into the adapter's error (unless it is one already)
   */
  constructor(
    private readonly connect: (ended: () => void) => Promise<T>,
    private readonly fail: (error: unknown) => Error,
  ) {}

  /** The open connection, or the one being opened. */
  get(): Promise<T> {
    if (this.#opening !== undefined) return this.#opening;
    const forget = (): void => {
      if (this.#opening === attempt) {
        this.#opening = undefined;
        this.#current = undefined;
      }
    };
    const attempt: Promise<T> = this.connect(forget).catch((error: unknown) => {
      forget();
      throw failureOf(error) === undefined ? this.fail(error) : error;
    });
    this.#opening = attempt;
    attempt.then((opened) => {
      if (this.#opening === attempt) this.#current = opened;
    }, () => undefined);
    return attempt;
  }

  /**
   * Stops sharing `stuck` (an attempt timed out waiting on it: a frozen broker, a half-open TCP
   * connection) and ends it with `end`; the next call opens a new connection. A no-op for sharing
   * when a newer connection has replaced it already.
   */
  discard(stuck: T, end: (connection: T) => void): void {
    if (this.#current === stuck) {
      this.#current = undefined;
      this.#opening = undefined;
    }
    end(stuck);
  }

  /** Stops sharing the connection and hands it (once open, if it opens) to `end`. */
  async close(end: (connection: T) => Promise<unknown>): Promise<void> {
    const pending = this.#opening;
    this.#opening = undefined;
    this.#current = undefined;
    const opened = await pending?.catch(() => undefined);
    if (opened !== undefined) await end(opened).catch(() => undefined);
  }
}
