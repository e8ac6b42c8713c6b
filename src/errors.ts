/**
 * The one catalogue of flowd's coded errors. Every error flowd raises on purpose
 * is a FlowdError with a stable `code`, an HTTP status (used only by the HTTP layer),
 * and explicit `retryable`/`recoverable` flags. Match on `code` or a type guard,
 * never on the message. Retired codes are never reused.
 */

import { FAILURE_BRAND, failureOf, type FailureInfo, type RetryCategory } from './adapters/failures.js';

export const ERROR_CODES = {
  FLOWD_ERR_CONFIG_INVALID: { status: 500, title: 'Configuration is invalid' },
  FLOWD_ERR_FLOWS_INVALID: { status: 422, title: 'The flow files do not validate; the last good flows keep serving' },
  FLOWD_ERR_REQUEST_INVALID: { status: 400, title: 'The request is invalid' },
  FLOWD_ERR_INPUT_INVALID: { status: 400, title: "The input does not match the flow's schema" },
  FLOWD_ERR_UNAUTHENTICATED: { status: 401, title: 'Authentication required' },
  FLOWD_ERR_FORBIDDEN: { status: 403, title: 'Missing scope' },
  FLOWD_ERR_NOT_FOUND: { status: 404, title: 'No such route' },
  FLOWD_ERR_FLOW_NOT_FOUND: { status: 404, title: 'No such flow' },
  FLOWD_ERR_EXECUTION_NOT_FOUND: { status: 404, title: 'No such execution' },
  FLOWD_ERR_METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  FLOWD_ERR_NOT_ACCEPTABLE: { status: 406, title: 'Not acceptable' },
  FLOWD_ERR_IDEMPOTENCY_IN_PROGRESS: { status: 409, title: 'An execution with this idempotency key is still running' },
  FLOWD_ERR_EXECUTION_NOT_RETRYABLE: { status: 409, title: 'The execution cannot be retried or cancelled in its state' },
  FLOWD_ERR_REQUEST_TIMEOUT: { status: 408, title: 'The request was not received in time' },
  FLOWD_ERR_URI_TOO_LONG: { status: 414, title: 'The request URI is too long' },
  FLOWD_ERR_HOST_NOT_ALLOWED: { status: 421, title: 'The Host header names no address this service answers for' },
  FLOWD_ERR_PAYLOAD_TOO_LARGE: { status: 413, title: 'The request body is too large' },
  FLOWD_ERR_HEADERS_TOO_LARGE: { status: 431, title: 'The request headers are too large' },
  FLOWD_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  FLOWD_ERR_IDEMPOTENCY_KEY_REUSED: { status: 422, title: 'The idempotency key was used with a different request' },
  FLOWD_ERR_EXPRESSION_FAILED: { status: 422, title: 'An expression failed' },
  FLOWD_ERR_EGRESS_DENIED: { status: 422, title: 'An outbound call was refused by the egress policy' },
  FLOWD_ERR_LIMIT_EXCEEDED: { status: 422, title: 'A configured limit was exceeded' },
  FLOWD_ERR_RATE_LIMITED: { status: 429, title: 'Too many requests' },
  FLOWD_ERR_BULKHEAD_FULL: { status: 429, title: 'The component is at its concurrency limit' },
  FLOWD_ERR_QUEUE_FULL: { status: 429, title: "The tenant's queue of async executions is full" },
  FLOWD_ERR_INTERNAL: { status: 500, title: 'Internal error' },
  FLOWD_ERR_COMPONENT_FAILED: { status: 502, title: 'A component failed' },
  FLOWD_ERR_COMPENSATION_FAILED: { status: 502, title: 'A compensation failed' },
  FLOWD_ERR_CIRCUIT_OPEN: { status: 503, title: 'The component circuit is open' },
  FLOWD_ERR_OVERLOADED: { status: 503, title: 'The service is overloaded' },
  FLOWD_ERR_SHUTTING_DOWN: { status: 503, title: 'The service is shutting down' },
  FLOWD_ERR_COMPONENT_UNAVAILABLE: { status: 503, title: 'A required component is unavailable' },
  FLOWD_ERR_CANCELLED: { status: 409, title: 'The execution was cancelled' },
  FLOWD_ERR_FLOW_TIMEOUT: { status: 504, title: 'The flow deadline passed' },
  FLOWD_ERR_PHASE_TIMEOUT: { status: 504, title: 'A phase timed out' },
  FLOWD_ERR_LEASE_LOST: { status: 409, title: 'The execution was taken over by another worker' },
  FLOWD_ERR_DEPENDENCY_NOT_MET: { status: 424, title: 'A prerequisite flow has not succeeded within its window' },
  FLOWD_ERR_SIGNAL_INVALID: { status: 422, title: 'The signal is not one the execution waits for, or its payload does not match' },
  FLOWD_ERR_EXECUTION_ENDED: { status: 409, title: 'The execution has ended: it takes no more signals' },
  FLOWD_ERR_SIGNAL_TIMEOUT: { status: 504, title: 'A wait for a signal or a callback timed out' },
  FLOWD_ERR_CALLBACK_FAILED: { status: 502, title: 'The callback reported a failure' },
  FLOWD_ERR_CALLBACK_UNKNOWN: { status: 404, title: 'No such callback token' },
  FLOWD_ERR_CALLBACK_GONE: { status: 410, title: 'The callback token was used already, or its wait timed out' },
  FLOWD_ERR_WAIT_NOT_DURABLE: { status: 422, title: 'A wait would outlast an execution that cannot be suspended' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export const PROBLEM_TYPE_BASE = 'https://flowd.dev/problems/';

export function problemTypeFor(code: ErrorCode): string {
  return PROBLEM_TYPE_BASE + code.slice('FLOWD_ERR_'.length).toLowerCase().replaceAll('_', '-');
}

export interface FlowdErrorOptions {
  cause?: unknown;
  retryable?: boolean;
  recoverable?: boolean;
  details?: Record<string, unknown>;
}

export class FlowdError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly recoverable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: FlowdErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.recoverable = options.recoverable ?? false;
    this.details = options.details;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }
}

export function isFlowdError(value: unknown): value is FlowdError {
  return value instanceof FlowdError;
}

/** One problem found while loading configuration or flow files. */
export interface ConfigurationIssue {
  file?: string | undefined;
  path: string;
  message: string;
}

export class ConfigurationError extends FlowdError {
  readonly issues: readonly ConfigurationIssue[];

  constructor(issues: readonly ConfigurationIssue[], options: FlowdErrorOptions = {}) {
    super('FLOWD_ERR_CONFIG_INVALID', formatConfigurationIssues(issues), options);
    this.issues = issues;
  }
}

export function formatConfigurationIssues(issues: readonly ConfigurationIssue[]): string {
  const lines = issues.map((issue) => {
    const where = [issue.file, issue.path].filter((part) => part !== undefined && part !== '').join(': ');
    return `  - ${where === '' ? '(root)' : where}: ${issue.message}`;
  });
  return `${issues.length} configuration problem${issues.length === 1 ? '' : 's'}:\n${lines.join('\n')}`;
}

export interface InputIssue {
  path: string;
  message: string;
}

export class InputValidationError extends FlowdError {
  readonly issues: readonly InputIssue[];

  /** `code`: FLOWD_ERR_INPUT_INVALID (a flow's input), or another code for a value checked by a schema (a signal's payload). */
  constructor(message: string, issues: readonly InputIssue[], options: FlowdErrorOptions & { code?: ErrorCode } = {}) {
    super(options.code ?? 'FLOWD_ERR_INPUT_INVALID', message, { ...options, retryable: false, recoverable: false });
    this.issues = issues;
  }
}

export class ComponentError extends FlowdError {
  /** Upstream HTTP status, when the component answered with one. */
  readonly upstreamStatus: number | undefined;
  /** Seconds from a Retry-After header, when present. */
  readonly retryAfterSeconds: number | undefined;
  /** `adapter`: classified by the adapter itself (RetryableError / TerminalError). */
  readonly kind: 'status' | 'network' | 'protocol' | 'adapter';
  /** The classification the retry policy and the breaker read (see adapters/failures.ts). */
  readonly [FAILURE_BRAND]: FailureInfo;

  constructor(
    message: string,
    init: {
      kind: 'status' | 'network' | 'protocol' | 'adapter';
      upstreamStatus?: number;
      retryAfterSeconds?: number;
      body?: unknown;
      /** For kind `adapter`: the adapter's own classification. */
      failure?: FailureInfo;
    },
    options: FlowdErrorOptions = {},
  ) {
    const status = init.upstreamStatus ?? init.failure?.status;
    const category: RetryCategory | undefined =
      init.kind === 'adapter'
        ? init.failure?.category
        : init.kind === 'network'
          ? 'network'
          : status === 408
            ? '408'
            : status === 429
              ? '429'
              : status !== undefined && status >= 500
                ? '5xx'
                : undefined;
    const transient = init.kind === 'adapter' ? init.failure?.retryable === true : category !== undefined;
    const reason = init.failure?.reason;
    super('FLOWD_ERR_COMPONENT_FAILED', message, {
      retryable: transient,
      recoverable: transient,
      ...options,
      details: {
        ...options.details,
        ...(status === undefined ? {} : { status }),
        ...(init.body === undefined ? {} : { body: init.body }),
        ...(reason === undefined ? {} : { reason }),
      },
    });
    this.kind = init.kind;
    this.upstreamStatus = status;
    const retryAfterMs = init.retryAfterSeconds === undefined ? init.failure?.retryAfterMs : init.retryAfterSeconds * 1000;
    this.retryAfterSeconds = retryAfterMs === undefined ? undefined : Math.ceil(retryAfterMs / 1000);
    this[FAILURE_BRAND] = {
      retryable: transient,
      category: transient ? category : undefined,
      retryAfterMs,
      reason,
      status,
      detail: init.body ?? init.failure?.detail,
    };
  }

  /** A failure an adapter classified itself (RetryableError, TerminalError or any branded error). */
  static fromFailure(error: unknown, failure: FailureInfo): ComponentError {
    const message = error instanceof Error ? error.message : String(error);
    return new ComponentError(message, { kind: 'adapter', failure }, { cause: error });
  }
}

export class TimeoutError extends FlowdError {
  readonly scope: 'attempt' | 'phase' | 'flow';

  constructor(scope: 'attempt' | 'phase' | 'flow', message: string, options: FlowdErrorOptions = {}) {
    super(scope === 'flow' ? 'FLOWD_ERR_FLOW_TIMEOUT' : 'FLOWD_ERR_PHASE_TIMEOUT', message, {
      retryable: scope === 'attempt',
      recoverable: true,
      ...options,
    });
    this.scope = scope;
  }
}

export class CircuitOpenError extends FlowdError {
  readonly retryAfterSeconds: number;

  constructor(component: string, retryAfterSeconds: number, options: FlowdErrorOptions = {}) {
    super('FLOWD_ERR_CIRCUIT_OPEN', `circuit for component "${component}" is open`, {
      retryable: false,
      recoverable: true,
      ...options,
    });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export class BulkheadRejectedError extends FlowdError {
  constructor(component: string, options: FlowdErrorOptions = {}) {
    super('FLOWD_ERR_BULKHEAD_FULL', `component "${component}" is at its concurrency limit and its queue is full`, {
      retryable: false,
      recoverable: true,
      ...options,
    });
  }
}

export class ExpressionError extends FlowdError {
  readonly expression: string | undefined;
  readonly where: string | undefined;

  constructor(message: string, init: { expression?: string; where?: string } = {}, options: FlowdErrorOptions = {}) {
    super('FLOWD_ERR_EXPRESSION_FAILED', message, { retryable: false, recoverable: false, ...options });
    this.expression = init.expression;
    this.where = init.where;
  }
}

export class EgressDeniedError extends FlowdError {
  constructor(message: string, options: FlowdErrorOptions = {}) {
    super('FLOWD_ERR_EGRESS_DENIED', message, { retryable: false, recoverable: false, ...options });
  }
}

export class LimitExceededError extends FlowdError {
  constructor(message: string, options: FlowdErrorOptions = {}) {
    super('FLOWD_ERR_LIMIT_EXCEEDED', message, { retryable: false, recoverable: false, ...options });
  }
}

export class CancelledError extends FlowdError {
  constructor(message = 'the execution was cancelled', options: FlowdErrorOptions = {}) {
    super('FLOWD_ERR_CANCELLED', message, { retryable: false, recoverable: false, ...options });
  }
}

/**
 * The worker no longer holds the execution's lease (another worker took it over, or the lease
 * was released at shutdown). The execution stops at once: no compensation, recovery or trigger,
 * because the new owner carries on from the last checkpoint.
 */
export class LeaseLostError extends FlowdError {
  constructor(message = 'the lease on this execution was lost to another worker', options: FlowdErrorOptions = {}) {
    super('FLOWD_ERR_LEASE_LOST', message, { retryable: false, recoverable: false, ...options });
  }
}

/** The error a flow ends with: which phase, after how many attempts, and whether recovery applies. */
export class FlowExecutionError extends FlowdError {
  readonly phase: string | undefined;
  readonly attempts: number;
  readonly context: Record<string, unknown>;

  constructor(
    cause: FlowdError,
    init: { phase?: string; attempts?: number; context?: Record<string, unknown> } = {},
  ) {
    super(cause.code, cause.message, { cause, retryable: cause.retryable, recoverable: cause.recoverable });
    this.phase = init.phase;
    this.attempts = init.attempts ?? 0;
    this.context = init.context ?? {};
  }

  get isRecoverable(): boolean {
    return this.recoverable;
  }
}

export class CompensationError extends FlowdError {
  readonly pending: readonly string[];

  constructor(pending: readonly string[], options: FlowdErrorOptions = {}) {
    super('FLOWD_ERR_COMPENSATION_FAILED', `compensation incomplete for: ${pending.join(', ')}`, {
      retryable: false,
      recoverable: false,
      ...options,
    });
    this.pending = pending;
  }
}

export class FlowNotFoundError extends FlowdError {
  constructor(name: string, loaded?: readonly string[]) {
    super('FLOWD_ERR_FLOW_NOT_FOUND', `no flow named "${name}" is loaded${loaded === undefined ? '' : ` (loaded: ${loaded.join(', ') || 'none'})`}`);
  }
}

/** Wraps anything thrown into a FlowdError, keeping the original as cause. */
export function toFlowdError(error: unknown): FlowdError {
  if (error instanceof FlowdError) return error;
  const failure = failureOf(error);
  if (failure !== undefined) return ComponentError.fromFailure(error, failure);
  const message = error instanceof Error ? error.message : String(error);
  return new FlowdError('FLOWD_ERR_INTERNAL', message, { cause: error });
}
