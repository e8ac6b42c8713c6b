import type { ErrorSummary, ExecutionTrigger, PhaseKind, PhaseStatus, TerminalStatus } from '../record.js';

/**
 * The execution journal's entries: an append-only history of one execution, from which its record,
 * its log lines, its metrics, what the store keeps and the console's timeline are all derived
 * (docs/ARCHITECTURE.md, "The execution journal"). Modelled on Temporal's event history (typed
 * events that point back at the event that scheduled them) and Restate's journal (results of side
 * effects written once, replayed on resume instead of being produced again).
 *
 * Every entry has `type`, `at` (the engine clock, ms since the epoch) and `t` (this process's
 * monotonic clock, ms, for durations: comparable only within one run, see `run_started`).
 * Entries about a phase run carry `ref`, the position in the journal of its `phase_started`.
 * Values (`input`, `output`, `request`, `response`, `detail`) are kept as the engine saw them:
 * views sanitise them (secrets masked, sensitive fields redacted, sizes capped) when they render.
 *
 * The schema is versioned by JOURNAL_VERSION; stored journals carry it.
 */
export const JOURNAL_VERSION = 1;

interface EntryBase {
  /** Engine clock, ms since the epoch. */
  readonly at: number;
  /** Monotonic ms (performance.now) of the process that appended the entry. */
  readonly t: number;
}

/** The first entry. */
export interface ExecutionStartedEntry extends EntryBase {
  readonly type: 'execution_started';
  readonly executionId: string;
  readonly flow: string;
  readonly version: string;
  /** The definition the execution is pinned to. */
  readonly hash: string;
  readonly input: unknown;
  readonly parentId?: string | undefined;
  readonly requestId?: string | undefined;
  readonly retryOf?: string | undefined;
  readonly correlationKey?: string | undefined;
  readonly traceId?: string | undefined;
  /** The caller's span (W3C traceparent parent id): a resumed run's spans continue the same trace under it. */
  readonly parentSpanId?: string | undefined;
  /** The caller's trace flags (`01`: sampled). */
  readonly traceFlags?: string | undefined;
  /** Who it runs for (an API key's tenant). */
  readonly tenant?: string | undefined;
  /** What started it when no caller did: a flow schedule's occurrence (ISO 8601), docs/schedules.md. */
  readonly trigger?: ExecutionTrigger | undefined;
}

/** A later run of the same execution began (resumed after a crash or a lost lease); `t` restarts here. */
export interface RunStartedEntry extends EntryBase {
  readonly type: 'run_started';
  /** 2 for the first resume. */
  readonly run: number;
}

export interface PhaseStartedEntry extends EntryBase {
  readonly type: 'phase_started';
  readonly phase: string;
  readonly kind: PhaseKind;
  /** Identifies the phase run across resumes: `id`, `id#mapIndex`, `id@loopPass`. */
  readonly key: string;
  readonly index?: number | undefined;
  readonly iteration?: number | undefined;
  readonly component?: string | undefined;
}

/** What one attempt sent (as the adapter described it, else the evaluated request). */
export interface RequestSentEntry extends EntryBase {
  readonly type: 'request_sent';
  readonly ref: number;
  readonly attempt: number;
  readonly request: unknown;
  /** Set on a compensation's attempts: the position of its `compensation_started`. */
  readonly compensation?: number | undefined;
}

/** What one attempt got back (the adapter's result). */
export interface ResponseReceivedEntry extends EntryBase {
  readonly type: 'response_received';
  readonly ref: number;
  readonly attempt: number;
  readonly response: unknown;
  readonly compensation?: number | undefined;
}

/** One attempt failed; `retryInMs` is set when the policy retries it after that backoff. */
export interface AttemptFailedEntry extends EntryBase {
  readonly type: 'attempt_failed';
  readonly ref: number;
  readonly attempt: number;
  readonly error: ErrorSummary;
  /** What the upstream said (an error body, a driver's detail). */
  readonly detail?: unknown;
  readonly retryInMs?: number | undefined;
  readonly compensation?: number | undefined;
}

/** A cached call phase looked its key up. */
export interface CacheCheckedEntry extends EntryBase {
  readonly type: 'cache_checked';
  readonly ref: number;
  readonly hit: boolean;
}

export interface PhaseEndedEntry extends EntryBase {
  readonly type: 'phase_ended';
  readonly ref: number;
  readonly status: Exclude<PhaseStatus, 'running' | 'compensated'>;
  readonly attempts: number;
  /** The phase's output (a checkpoint: a resumed run restores it instead of running the phase). */
  readonly output?: unknown;
  readonly error?: ErrorSummary | undefined;
  readonly cached?: boolean | undefined;
  readonly fallback?: boolean | undefined;
  readonly restored?: boolean | undefined;
  readonly branch?: string | undefined;
  readonly childExecutionId?: string | undefined;
  /** The request a compensable call sent: its compensation needs it, also after a resume. */
  readonly compensable?: { readonly request: unknown } | undefined;
}

/** The flow failed at this point; compensation and recovery may follow. */
export interface ExecutionFailedEntry extends EntryBase {
  readonly type: 'execution_failed';
  readonly error: ErrorSummary;
}

export interface CompensationStartedEntry extends EntryBase {
  readonly type: 'compensation_started';
  /** The `phase_started` of the phase being undone. */
  readonly ref: number;
}

export interface CompensationEndedEntry extends EntryBase {
  readonly type: 'compensation_ended';
  /** The `compensation_started` entry. */
  readonly ref: number;
  readonly status: 'succeeded' | 'failed';
  readonly attempts: number;
  readonly error?: ErrorSummary | undefined;
}

/** A recovery flow ran; `output` is the execution's output when it succeeded. */
export interface RecoveryEndedEntry extends EntryBase {
  readonly type: 'recovery_ended';
  readonly flow: string;
  readonly executionId?: string | undefined;
  readonly succeeded: boolean;
  readonly output?: unknown;
  /** The execution's error from here on (the recovery's, with the original as `cause`). */
  readonly error?: ErrorSummary | undefined;
}

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/** A line written through the execution's logger (adapters, middleware, user code). */
export interface LogEntry extends EntryBase {
  readonly type: 'log';
  readonly level: LogLevel;
  readonly msg: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

export interface ExecutionFinishedEntry extends EntryBase {
  readonly type: 'execution_finished';
  readonly status: TerminalStatus;
  readonly output?: unknown;
  readonly error?: ErrorSummary | undefined;
}

/**
 * This run stopped without ending the execution: its lease went to another worker (which carries
 * on from the last checkpoint), or the process released it at shutdown.
 */
export interface RunAbandonedEntry extends EntryBase {
  readonly type: 'run_abandoned';
  readonly reason: string;
}

/** A dependent flow was started after the end (`triggers`). */
export interface TriggeredEntry extends EntryBase {
  readonly type: 'triggered';
  readonly flow: string;
  readonly executionId: string;
}

/**
 * A dependent flow (`triggers`) was not started after the end: the queue bounds of the tenant
 * (FLOWD_ERR_QUEUE_FULL) or of everyone (FLOWD_ERR_OVERLOADED) refused it, its input failed (its
 * expression, the flow's input schema), or the store could not write it. Nothing retries it.
 */
export interface TriggerRefusedEntry extends EntryBase {
  readonly type: 'trigger_refused';
  readonly flow: string;
  readonly error: ErrorSummary;
}

/** Captures (requests, responses, log lines) stopped here: the execution's capture budget is spent. */
export interface CapturesTruncatedEntry extends EntryBase {
  readonly type: 'captures_truncated';
  readonly reason: string;
}

/** What a wait phase waits for. */
export type WaitFor = 'time' | 'signal' | 'callback';

/**
 * A wait phase began waiting (docs/waits.md). Its due time is fixed here, once: a resumed run finds
 * this entry (by `key`) and keeps waiting for the same moment instead of starting the wait again.
 */
export interface WaitStartedEntry extends EntryBase {
  readonly type: 'wait_started';
  /** The wait phase's `phase_started`. */
  readonly ref: number;
  /** The phase run's checkpoint key (stable across resumes). */
  readonly key: string;
  readonly for: WaitFor;
  /** When the wait ends at the latest (engine clock, ms since the epoch): its time, or its timeout. */
  readonly until: number;
  /** The signal it waits for (`callback:<key>` for a callback). */
  readonly signal?: string | undefined;
  /** A callback phase's call output (the call is not made again on resume). */
  readonly callOutput?: unknown;
}

/** The signal (or callback) a wait took, with its payload. */
export interface SignalReceivedEntry extends EntryBase {
  readonly type: 'signal_received';
  readonly ref: number;
  readonly signal: string;
  readonly payload: unknown;
  /** When the service received it (store clock, ms). */
  readonly receivedAt: number;
}

/**
 * This run stopped to wait: the execution is `waiting` (its worker and lease released) until
 * `until`, or until a signal for it arrives; then any replica resumes it from its journal.
 */
export interface RunSuspendedEntry extends EntryBase {
  readonly type: 'run_suspended';
  readonly phase: string;
  readonly for: WaitFor;
  readonly until: number;
  readonly signal?: string | undefined;
}

export type JournalEntry =
  | ExecutionStartedEntry
  | RunStartedEntry
  | PhaseStartedEntry
  | RequestSentEntry
  | ResponseReceivedEntry
  | AttemptFailedEntry
  | CacheCheckedEntry
  | PhaseEndedEntry
  | ExecutionFailedEntry
  | CompensationStartedEntry
  | CompensationEndedEntry
  | RecoveryEndedEntry
  | LogEntry
  | ExecutionFinishedEntry
  | TriggeredEntry
  | TriggerRefusedEntry
  | RunAbandonedEntry
  | CapturesTruncatedEntry
  | WaitStartedEntry
  | SignalReceivedEntry
  | RunSuspendedEntry;

export type JournalEntryType = JournalEntry['type'];

/** Distributes over the union, so an entry literal without `at`/`t` keeps its own type. */
export type NewEntry = JournalEntry extends infer E ? (E extends JournalEntry ? Omit<E, 'at' | 't'> : never) : never;

/** An entry being built, field by field (before the journal sets `at` and `t`). */
export type EntryDraft<E extends JournalEntry> = { -readonly [K in keyof Omit<E, 'at' | 't'>]: Omit<E, 'at' | 't'>[K] };
