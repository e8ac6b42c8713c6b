import { FlowdError } from '../errors.js';
import type { ExecutionStore } from '../store/execution-store.js';

/** How long a queue count read from the store is trusted before it is read again. */
const COUNT_FRESH_MS = 100;

/** Who asks for a place: an API request (`respond-async`), a parent's `triggers`, or a flow schedule. */
export type QueueSource = 'api' | 'trigger' | 'schedule';

/** Which bound refused: QUEUE_MAX (`total`, FLOWD_ERR_OVERLOADED) or QUEUE_MAX_PER_TENANT (`tenant`, FLOWD_ERR_QUEUE_FULL). */
export type QueueBound = 'total' | 'tenant';

interface Count {
  known: number;
  readAt: number;
  /** Admitted, not yet written (or refused by the store). */
  pending: number;
  reading: Promise<void> | undefined;
}

/**
 * The bounds on queued (async) work: QUEUE_MAX in all, QUEUE_MAX_PER_TENANT per tenant. Everything
 * that writes a `queued` execution asks here first, with one instance per process: API requests
 * (`respond-async`), triggered flows (for the tenant of the execution that triggers them) and
 * schedule occurrences (for the local tenant). A request is admitted against the store's count
 * (re-read at most every 100 ms) plus the requests this process admitted and is still writing;
 * the check and the reservation happen in the same tick, so a burst on one replica cannot overshoot. Replicas do not share reservations: with N replicas
 * a simultaneous burst can pass a bound by what the other N − 1 admitted within the same 100 ms.
 * Refused: 429 FLOWD_ERR_QUEUE_FULL (this tenant) or 503 FLOWD_ERR_OVERLOADED (everyone), with
 * Retry-After; nothing is written, and `onRefused` is told (the `flowd_queue_refusals_total` metric).
 */
export class QueueAdmission {
  readonly #store: ExecutionStore;
  readonly #max: number;
  readonly #maxPerTenant: number;
  readonly #counts = new Map<string, Count>();
  readonly #now: () => number;
  readonly #onRefused: ((refusal: { source: QueueSource; bound: QueueBound }) => void) | undefined;

  constructor(options: {
    store: ExecutionStore;
    max: number;
    maxPerTenant: number;
    now?: () => number;
    onRefused?: (refusal: { source: QueueSource; bound: QueueBound }) => void;
  }) {
    this.#store = options.store;
    this.#max = options.max;
    this.#maxPerTenant = options.maxPerTenant;
    this.#now = options.now ?? Date.now;
    this.#onRefused = options.onRefused;
  }

  /**
   * Writes a queued execution within the bounds: reserves a place for `tenant`, runs `create` (the
   * store write), and keeps the place when it created the execution, gives it back otherwise (an
   * idempotent replay, a failed write).
   */
  async queue<T extends { readonly created: boolean }>(tenant: string, source: QueueSource, create: () => Promise<T>): Promise<T> {
    const admitted = await this.admit(tenant, source);
    let result: T | undefined;
    try {
      result = await create();
      return result;
    } finally {
      admitted(result?.created === true);
    }
  }

  /** Reserves a place for `tenant`; call the returned function with whether the execution was queued. */
  async admit(tenant: string, source: QueueSource = 'api'): Promise<(queued: boolean) => void> {
    const all = this.#count('*');
    const own = this.#count(tenant);
    await Promise.all([this.#fresh(all, undefined), this.#fresh(own, tenant)]);
    // From here to the reservation: no await.
    if (all.known + all.pending >= this.#max) {
      this.#onRefused?.({ source, bound: 'total' });
      throw new FlowdError('FLOWD_ERR_OVERLOADED', `the queue of async executions is full (QUEUE_MAX=${this.#max}); retry later`, { details: { retryAfterSeconds: 5 } });
    }
    if (own.known + own.pending >= this.#maxPerTenant) {
      this.#onRefused?.({ source, bound: 'tenant' });
      throw new FlowdError('FLOWD_ERR_QUEUE_FULL', `this tenant has ${this.#maxPerTenant} async executions queued (QUEUE_MAX_PER_TENANT); retry when some have run`, {
        details: { retryAfterSeconds: 5 },
      });
    }
    all.pending += 1;
    own.pending += 1;
    let settled = false;
    return (queued) => {
      if (settled) return;
      settled = true;
      all.pending -= 1;
      own.pending -= 1;
      if (queued) {
        all.known += 1;
        own.known += 1;
      }
    };
  }

  #count(key: string): Count {
    let count = this.#counts.get(key);
    if (count === undefined) {
      count = { known: 0, readAt: -Infinity, pending: 0, reading: undefined };
      this.#counts.set(key, count);
    }
    return count;
  }

  #fresh(count: Count, tenant: string | undefined): Promise<void> {
    if (this.#now() - count.readAt < COUNT_FRESH_MS) return Promise.resolve();
    count.reading ??= this.#store.countQueued(tenant).then(
      (known) => {
        count.known = known;
        count.readAt = this.#now();
        count.reading = undefined;
      },
      (error: unknown) => {
        count.reading = undefined;
        throw error;
      },
    );
    return count.reading;
  }
}
