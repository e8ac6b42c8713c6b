import type { ErrorCode } from '../errors.js';

/** The statuses an execution ends in. */
export const TERMINAL_STATUS_LIST = ['succeeded', 'failed', 'compensated', 'compensation_failed', 'timed_out', 'cancelled'] as const;
export type TerminalStatus = (typeof TERMINAL_STATUS_LIST)[number];

export const EXECUTION_STATUSES = ['queued', 'running', 'waiting', ...TERMINAL_STATUS_LIST] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];

export const TERMINAL_STATUSES: ReadonlySet<ExecutionStatus> = new Set(TERMINAL_STATUS_LIST);

export type PhaseKind = 'call' | 'decision' | 'parallel' | 'map' | 'subflow' | 'wait';
/** `waiting`: a wait phase the execution is stopped at (status `waiting`). */
export type PhaseStatus = 'running' | 'waiting' | 'succeeded' | 'failed' | 'compensated' | 'cancelled';

/** A dependent flow (`triggers`) that was not started when the execution ended. */
export interface TriggerRefusal {
  flow: string;
  error: ErrorSummary;
}

export interface ErrorSummary {
  code: ErrorCode;
  message: string;
  phase?: string | undefined;
  attempts?: number | undefined;
  /** Upstream HTTP status, for component failures. */
  status?: number | undefined;
  /** The adapter's own code for the failure (e.g. `SQL_UNIQUE_VIOLATION`), when it gave one. */
  reason?: string | undefined;
  recoverable?: boolean | undefined;
  /** When retrying makes sense (open circuit, full bulkhead). */
  retryAfterSeconds?: number | undefined;
  /** The original error when a recovery flow also failed. */
  cause?: ErrorSummary | undefined;
}

export interface PhaseRecord {
  id: string;
  kind: PhaseKind;
  status: PhaseStatus;
  attempts: number;
  startedAt: string;
  finishedAt?: string | undefined;
  durationMs?: number | undefined;
  /** Item index inside a map. */
  index?: number | undefined;
  /** Pass number when a decision loop ran the phase again. */
  iteration?: number | undefined;
  /** The component called, for call phases. */
  component?: string | undefined;
  /** The branch a decision took. */
  branch?: string | undefined;
  cached?: boolean | undefined;
  fallback?: boolean | undefined;
  /** Taken from a checkpoint when a crashed execution resumed: not run again. */
  restored?: boolean | undefined;
  /** The run it was in stopped before it ended (a crash, a lost lease); a later run ran it again. */
  interrupted?: boolean | undefined;
  /** The execution a sub-flow phase started. */
  childExecutionId?: string | undefined;
  error?: ErrorSummary | undefined;
  /** Detail views only (`GET /executions/{id}`): the phase's output, sanitised and size-capped. */
  output?: unknown;
  /** Detail views only: each attempt's request, response or error, as captured (see `capture`). */
  calls?: CallRecord[] | undefined;
}

/** One attempt of a call, as the journal captured it. */
export interface CallRecord {
  attempt: number;
  startedAt: string;
  durationMs?: number | undefined;
  /** What was sent (as the adapter described it: method, URL, headers, body …), when captured. */
  request?: unknown;
  /** What came back (the adapter's result: status, headers, body …), when captured. */
  response?: unknown;
  error?: ErrorSummary | undefined;
  /** What the upstream said when it failed (an error body), when captured. */
  detail?: unknown;
  /** The retry policy retries this attempt after this many ms. */
  retryInMs?: number | undefined;
}

export interface CompensationRecord {
  phase: string;
  index?: number | undefined;
  status: 'succeeded' | 'failed' | 'pending';
  attempts: number;
  durationMs?: number | undefined;
  error?: ErrorSummary | undefined;
  /** Detail views only: the compensation's attempts. */
  calls?: CallRecord[] | undefined;
}

/** The one shape of an execution: returned by execute, stored, served, drawn and asserted. */
/** A flow schedule's occurrence that started an execution (ISO 8601, UTC). */
export interface ExecutionTrigger {
  readonly kind: 'schedule';
  readonly schedule: string;
  readonly occurrence: string;
}

/** What a `waiting` execution waits for (docs/waits.md). */
export interface WaitingRecord {
  /** The wait phase it stopped at. */
  phase: string;
  for: 'time' | 'signal' | 'callback';
  /** When it goes on at the latest (the time, or the timeout), ISO 8601. */
  until: string;
  /** The signal it waits for (`POST /executions/{id}/signals/{signal}`). */
  signal?: string | undefined;
}

export interface ExecutionRecord {
  executionId: string;
  flow: string;
  version: string;
  status: ExecutionStatus;
  input?: unknown;
  output?: unknown;
  startedAt: string;
  finishedAt?: string | undefined;
  durationMs?: number | undefined;
  errorHandled: boolean;
  fallbackExecuted: boolean;
  recovered: boolean;
  phases: PhaseRecord[];
  error?: ErrorSummary | undefined;
  compensations?: CompensationRecord[] | undefined;
  /** Output of the recovery flow's execution, when one ran. */
  recoveryExecutionId?: string | undefined;
  parentId?: string | undefined;
  triggered?: string[] | undefined;
  /** Triggers that did not start (a full queue, a bad input): the flow and why, in order. */
  triggersRefused?: TriggerRefusal[] | undefined;
  /** While `waiting`: what for and until when. */
  waiting?: WaitingRecord | undefined;
  /** What started it when no caller did: a flow schedule's occurrence (docs/schedules.md). */
  trigger?: ExecutionTrigger | undefined;
  /** Given by the caller (`options.correlationKey`); `depends_on … within_ms` matches on it. */
  correlationKey?: string | undefined;
  requestId?: string | undefined;
  /** The execution this one re-runs (`POST /executions/{id}/retry`). */
  retryOf?: string | undefined;
  /** Reads only (`GET /executions/{id}`): the tenant it belongs to (the starting key's; `local` without keys). */
  tenant?: string | undefined;
  /** Detail views only: the execution's capture budget ran out, some requests/responses/log lines are missing. */
  capturesTruncated?: boolean | undefined;
}
