import { FlowdError } from '../errors.js';
import type { CreateResult, ExecutionStore } from '../store/execution-store.js';

/** How long a queue count read from the store is trusted before it is read again. */
const COUNT_FRESH_MS = 100;

/** Who asks for a place: an API request (`respond-async`), a parent's `triggers`, or a flow schedule. */
export type QueueSource = 'api' | 'trigger' | 'schedule';

/**
 * Which bound refused: QUEUE_MAX (`total`, FLOWD_ERR_OVERLOADED), QUEUE_MAX_PER_TENANT (`tenant`,
 * FLOWD_ERR_QUEUE_FULL) or WAITING_MAX_PER_TENANT (`waiting`, FLOWD_ERR_QUEUE_FULL).
 */
export type QueueBound = 'total' | 'tenant' | 'waiting';

interface Count {
  known: number;
  readAt: number;
  /** Admitted, not yet written (or refused by the store). */
  pending: number;
  /** Written by this process, ever: a read counts those written while it ran (it may not have seen them). */
  written: number;
  reading: Promise<void> | undefined;
}

/** What is being started: queued (async work) and/or of a flow that can wait. */
interface Admitting {
  readonly queued: boolean;
  readonly waits: boolean;
}

/**
 * The bounds on work kept in the store: QUEUE_MAX queued executions in all, QUEUE_MAX_PER_TENANT
 * per tenant, and WAITING_MAX_PER_TENANT waiting executions per tenant. Everything that writes a
 * `queued` execution asks here first, with one instance per process: API requests
 * (`respond-async`), triggered flows (for the tenant of the execution that triggers them) and
 * schedule occurrences (for the local tenant); so does every start of a flow that can wait (a
 * `wait` phase or a `callback`), sync or queued, while its tenant has that many executions
 * waiting. A request is admitted against the store's count (re-read at most every 100 ms) plus
 * the requests this process admitted and is still writing, plus (until the next read) those it
 * wrote; the check and the reservation happen in the same tick, so a burst on one replica cannot
 * overshoot. Executions admitted before the waiting bound was reached may still reach their waits:
 * a tenant's waiting executions stay below WAITING_MAX_PER_TENANT plus what it had running or
 * queued then. Replicas do not share reservations: with N replicas a simultaneous burst can pass a
 * bound by what the other N − 1 admitted within the same 100 ms. Refused: 429
 * FLOWD_ERR_QUEUE_FULL (this tenant) or 503 FLOWD_ERR_OVERLOADED (everyone), with Retry-After;
 * nothing is written, and `onRefused` is told (the `flowd_queue_refusals_total` metric).
 */
export class QueueAdmission {
  readonly #store: ExecutionStore;
  readonly #max: number;
  readonly #maxPerTenant: number;
  readonly #maxWaitingPerTenant: number;
  readonly #counts = new Map<string, Count>();
  readonly #now: () => number;
  readonly #onRefused: ((refusal: { source: QueueSource; bound: QueueBound }) => void) | undefined;

  constructor(options: {
    store: ExecutionStore;
    max: number;
    maxPerTenant: number;
    /** Default: no bound. */
    maxWaitingPerTenant?: number;
    now?: () => number;
    onRefused?: (refusal: { source: QueueSource; bound: QueueBound }) => void;
  }) {
    this.#store = options.store;
    this.#max = options.max;
    this.#maxPerTenant = options.maxPerTenant;
    this.#maxWaitingPerTenant = options.maxWaitingPerTenant ?? Infinity;
    this.#now = options.now ?? Date.now;
    this.#onRefused = options.onRefused;
  }

  /**
   * Writes a queued execution within the bounds (and the waiting bound when its flow can wait):
   * reserves a place for `tenant`, runs `create` (the store write), and keeps the place when it
   * created the execution, gives it back otherwise (an idempotent replay, a failed write). With
   * the idempotency `key` the write carries, a full bound does not refuse a start that exists
   * already: the execution the key names is the answer, as the write would have said (a replayed
   * request, a resumed parent's trigger, an occurrence a crashed replica had started).
   */
  queue(tenant: string, source: QueueSource, create: () => Promise<CreateResult>, options: { waits?: boolean; key?: string | undefined } = {}): Promise<CreateResult> {
    return this.#within(tenant, source, { queued: true, waits: options.waits === true }, create, options.key);
  }

  /** Writes an execution that runs now, of a flow that can wait, within the waiting bound (as `queue`). */
  startWaiting(tenant: string, source: QueueSource, create: () => Promise<CreateResult>, options: { key?: string | undefined } = {}): Promise<CreateResult> {
    return this.#within(tenant, source, { queued: false, waits: true }, create, options.key);
  }

  /**
   * Reserves a place in the waiting bound for an execution written by someone else (a retry's
   * durable run); call the returned function with whether it was written.
   */
  reserveWaiting(tenant: string, source: QueueSource): Promise<(written: boolean) => void> {
    return this.#admit(tenant, source, { queued: false, waits: true });
  }

  async #within(tenant: string, source: QueueSource, what: Admitting, create: () => Promise<CreateResult>, key: string | undefined): Promise<CreateResult> {
    let admitted: (written: boolean) => void;
    try {
      admitted = await this.#admit(tenant, source, what);
    } catch (error) {
      const taken = key === undefined || !(error instanceof FlowdError) ? undefined : await this.#store.findIdempotencyKey(key).catch(() => undefined);
      if (taken === undefined) throw error;
      return { created: false, executionId: taken.executionId, fingerprint: taken.fingerprint };
    }
    let result: CreateResult | undefined;
    try {
      result = await create();
      return result;
    } finally {
      admitted(result?.created === true);
    }
  }

  /** Reserves places for `tenant`; call the returned function with whether the execution was written. */
  async #admit(tenant: string, source: QueueSource, what: Admitting): Promise<(written: boolean) => void> {
    const counts: Count[] = [];
    const reads: Promise<void>[] = [];
    const use = (key: string, read: () => Promise<number>): Count => {
      const count = this.#count(key);
      counts.push(count);
      reads.push(this.#fresh(count, read));
      return count;
    };
    const all = what.queued ? use('*', () => this.#store.countQueued()) : undefined;
    const own = what.queued ? use(tenant, () => this.#store.countQueued(tenant)) : undefined;
    const waiting = what.waits && this.#maxWaitingPerTenant !== Infinity ? use(`waiting:${tenant}`, () => this.#store.countWaitingOf(tenant)) : undefined;
    await Promise.all(reads);
    // From here to the reservation: no await.
    if (all !== undefined && all.known + all.pending >= this.#max) {
      this.#onRefused?.({ source, bound: 'total' });
      throw new FlowdError('FLOWD_ERR_OVERLOADED', `the queue of async executions is full (QUEUE_MAX=${this.#max}); retry later`, { details: { retryAfterSeconds: 5 } });
    }
    if (own !== undefined && own.known + own.pending >= this.#maxPerTenant) {
      this.#onRefused?.({ source, bound: 'tenant' });
      throw new FlowdError('FLOWD_ERR_QUEUE_FULL', `this tenant has ${this.#maxPerTenant} async executions queued (QUEUE_MAX_PER_TENANT); retry when some have run`, {
        details: { retryAfterSeconds: 5 },
      });
    }
    if (waiting !== undefined && waiting.known + waiting.pending >= this.#maxWaitingPerTenant) {
      this.#onRefused?.({ source, bound: 'waiting' });
      throw new FlowdError(
        'FLOWD_ERR_QUEUE_FULL',
        `this tenant has ${this.#maxWaitingPerTenant} executions waiting (WAITING_MAX_PER_TENANT); a flow that can wait starts again when some have ended`,
        { details: { retryAfterSeconds: 5 } },
      );
    }
    for (const count of counts) count.pending += 1;
    let settled = false;
    return (written) => {
      if (settled) return;
      settled = true;
      for (const count of counts) {
        count.pending -= 1;
        // Counted until the next read of the store (conservative for the waiting bound: it may not wait yet).
        if (written) {
          count.known += 1;
          count.written += 1;
        }
      }
    };
  }

  #count(key: string): Count {
    let count = this.#counts.get(key);
    if (count === undefined) {
      count = { known: 0, readAt: -Infinity, pending: 0, written: 0, reading: undefined };
      this.#counts.set(key, count);
    }
    return count;
  }

  #fresh(count: Count, read: () => Promise<number>): Promise<void> {
    if (this.#now() - count.readAt < COUNT_FRESH_MS) return Promise.resolve();
    const before = count.written;
    count.reading ??= read().then(
      (known) => {
        // Writes that ended while the read ran may be missing from it: counted on top (never fewer).
        count.known = known + (count.written - before);
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
