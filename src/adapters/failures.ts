/**
 * How an adapter says whether a failed call is worth retrying. Built-in and custom adapters throw
 * RetryableError or TerminalError (or any error carrying FAILURE_BRAND); the engine reads the brand,
 * never `instanceof`, so an adapter compiled against another copy of flowd is classified the same.
 *
 * Retryable failures name a category that a phase's `retry_policy.retry_on` selects:
 * `network` (connection refused, reset, DNS), `timeout` (the adapter's own), `408`, `429`, `5xx`
 * (an upstream's answer), `transient` (anything else the adapter knows is temporary: a database
 * serialization conflict, a broker asking to retry). Terminal failures never retry.
 */

/** The brand, shared by every copy of flowd in a process (`Symbol.for`). */
export const FAILURE_BRAND: unique symbol = Symbol.for('flowd.failure') as never;

export const RETRY_CATEGORIES = ['network', 'timeout', '408', '429', '5xx', 'transient'] as const;
export type RetryCategory = (typeof RETRY_CATEGORIES)[number];

export interface FailureInfo {
  readonly retryable: boolean;
  /** Which `retry_on` entry retries it (retryable failures only). */
  readonly category: RetryCategory | undefined;
  /** The upstream asked to wait this long before the next attempt (honoured up to `max_delay_ms`). */
  readonly retryAfterMs: number | undefined;
  /** The adapter's own stable code, e.g. `SQL_UNIQUE_VIOLATION`; shown as `error.reason`. */
  readonly reason: string | undefined;
  /** Upstream status (HTTP), when there is one. */
  readonly status: number | undefined;
  /** What the upstream said (an error body, a driver's detail): shown in the journal, size-capped and masked. */
  readonly detail: unknown;
}

export interface FailureOptions {
  readonly reason?: string | undefined;
  readonly retryAfterMs?: number | undefined;
  readonly status?: number | undefined;
  readonly detail?: unknown;
  readonly cause?: unknown;
}

/** A failure that may succeed if tried again (connection lost, conflict, overload). */
export class RetryableError extends Error {
  readonly [FAILURE_BRAND]: FailureInfo;

  constructor(message: string, options: FailureOptions & { readonly category?: RetryCategory | undefined } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RetryableError';
    this[FAILURE_BRAND] = info(true, options.category ?? 'transient', options);
  }
}

/** A failure that will fail the same way again (constraint violation, bad request, permission). */
export class TerminalError extends Error {
  readonly [FAILURE_BRAND]: FailureInfo;

  constructor(message: string, options: FailureOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TerminalError';
    this[FAILURE_BRAND] = info(false, undefined, options);
  }
}

/** The classification an error carries, or undefined when it carries none. */
export function failureOf(error: unknown): FailureInfo | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const branded = (error as { [FAILURE_BRAND]?: unknown })[FAILURE_BRAND];
  if (typeof branded !== 'object' || branded === null) return undefined;
  const candidate = branded as Partial<FailureInfo>;
  if (typeof candidate.retryable !== 'boolean') return undefined;
  const category = candidate.retryable && RETRY_CATEGORIES.includes(candidate.category as RetryCategory) ? (candidate.category as RetryCategory) : undefined;
  return {
    retryable: candidate.retryable && category !== undefined,
    category,
    retryAfterMs: typeof candidate.retryAfterMs === 'number' && candidate.retryAfterMs >= 0 ? candidate.retryAfterMs : undefined,
    reason: typeof candidate.reason === 'string' ? candidate.reason.slice(0, 100) : undefined,
    status: typeof candidate.status === 'number' ? candidate.status : undefined,
    detail: candidate.detail,
  };
}

function info(retryable: boolean, category: RetryCategory | undefined, options: FailureOptions): FailureInfo {
  return {
    retryable,
    category,
    retryAfterMs: options.retryAfterMs,
    reason: options.reason,
    status: options.status,
    detail: options.detail,
  };
}
