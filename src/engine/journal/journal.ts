import { jsonSizeUpTo } from '../../limits/json-size.js';
import type { ExecutionFinishedEntry, ExecutionStartedEntry, JournalEntry, LogEntry, LogLevel, NewEntry } from './entries.js';

/** What a flow's executions capture of their calls: `all` requests and responses, only those of failed attempts, or `none`. */
export type CapturePolicy = 'none' | 'errors' | 'all';
export const CAPTURE_POLICIES = ['none', 'errors', 'all'] as const;

export interface CaptureLimits {
  readonly policy: CapturePolicy;
  /** Bytes (approximate JSON) of requests, responses and log fields one execution may capture. */
  readonly maxBytes: number;
  /** Log lines one execution may capture. */
  readonly maxLogLines: number;
}

export const DEFAULT_CAPTURE: CaptureLimits = Object.freeze({ policy: 'all', maxBytes: 64 * 1024, maxLogLines: 500 });

/** The service's capture limits with a flow's own `capture` policy. */
export function captureFor(base: CaptureLimits, policy: CapturePolicy | undefined): CaptureLimits {
  return policy === undefined || policy === base.policy ? base : { ...base, policy };
}

/** Told of every entry as it is appended (metrics, stdout logs, the durable writer). Must not throw. */
export interface JournalSink {
  onEntry(journal: Journal, entry: JournalEntry, seq: number): void;
}

/**
 * One execution's journal: entries appended in order, never changed. Appending costs a clock read
 * and a push; everything else (the record, log lines, metrics, what is stored) is derived from the
 * entries by views (record-view.ts, log-view.ts) and sinks.
 *
 * Memory is bounded: captured values (requests, responses, upstream error details, log fields)
 * count against `CaptureLimits.maxBytes` and log lines against `maxLogLines`; past a limit the
 * journal keeps the facts (attempt numbers, statuses, errors) but drops the values, and says so
 * once with a `captures_truncated` entry. Phase outputs are not captures: they are the execution's
 * state (bounded by MAX_PHASE_OUTPUT_BYTES / MAX_RECORD_BYTES).
 */
export class Journal {
  readonly entries: JournalEntry[] = [];
  readonly capture: CaptureLimits;
  readonly #now: () => number;
  readonly #sinks: readonly JournalSink[];
  #captured = 0;
  #logLines = 0;
  #truncated = false;

  constructor(now: () => number, capture: CaptureLimits = DEFAULT_CAPTURE, sinks: readonly JournalSink[] = []) {
    this.#now = now;
    this.capture = capture;
    this.#sinks = sinks;
  }

  /** Rebuilds a journal from stored entries (resume, retry, reads); appending continues after them. */
  static from(entries: readonly JournalEntry[], now: () => number, capture: CaptureLimits = DEFAULT_CAPTURE, sinks: readonly JournalSink[] = []): Journal {
    const journal = new Journal(now, capture, sinks);
    for (const entry of entries) journal.entries.push(entry);
    return journal;
  }

  get started(): ExecutionStartedEntry {
    return this.entries[0] as ExecutionStartedEntry;
  }

  /** The execution's `execution_finished`, once it has ended. */
  get finished(): ExecutionFinishedEntry | undefined {
    const entries = this.entries;
    for (let i = entries.length - 1; i > 0; i--) {
      const entry = entries[i]!;
      if (entry.type === 'execution_finished') return entry;
    }
    return undefined;
  }

  get executionId(): string {
    return this.started.executionId;
  }

  get length(): number {
    return this.entries.length;
  }

  /** The engine clock (ms since the epoch). */
  now(): number {
    return this.#now();
  }

  /**
   * Appends an entry and returns its position. `at`/`t` default to now; an entry written late
   * (a request held until its attempt failed) keeps the time it describes.
   */
  append(entry: NewEntry, at?: number, t?: number): number {
    const full = entry as JournalEntry & { at: number; t: number };
    full.at = at ?? this.#now();
    full.t = t ?? performance.now();
    const seq = this.entries.push(full) - 1;
    const sinks = this.#sinks;
    for (let i = 0; i < sinks.length; i++) sinks[i]!.onEntry(this, full, seq);
    return seq;
  }

  /**
   * Whether a captured value of this size still fits the budget; counts it when it does. Past the
   * budget, the first refusal appends `captures_truncated`.
   */
  admit(value: unknown): boolean {
    if (this.#truncated) return false;
    const room = this.capture.maxBytes - this.#captured;
    const size = jsonSizeUpTo(value, room);
    if (size <= room) {
      this.#captured += size;
      return true;
    }
    this.#truncate(`captured values passed ${this.capture.maxBytes} bytes (CAPTURE_MAX_BYTES)`);
    return false;
  }

  /** Appends a log line unless the execution's log budget is spent. */
  log(level: LogLevel, msg: string, fields: Record<string, unknown>): void {
    const max = this.capture.maxLogLines;
    if (this.#logLines >= max) {
      if (this.#logLines++ === max) this.append({ type: 'captures_truncated', reason: `more than ${max} log lines` });
      return;
    }
    this.#logLines += 1;
    const entry: Omit<LogEntry, 'at' | 't'> = { type: 'log', level, msg, fields: this.admit(fields) ? fields : {} };
    this.append(entry);
  }

  #truncate(reason: string): void {
    this.#truncated = true;
    this.append({ type: 'captures_truncated', reason });
  }
}
