import { randomBytes } from 'node:crypto';
import type { Journal } from './journal/journal.js';

/**
 * Where an attempt's outgoing W3C `traceparent` comes from, without the engine knowing how spans
 * are made: the service installs one when tracing is on (observability/tracing), whose answer is
 * the attempt's own span. Must not throw.
 */
export interface AttemptTraceSource {
  /**
   * An attempt of a call starts now: the traceparent its outgoing calls carry, or undefined to
   * fall back to a child of the caller's.
   */
  attemptStarted(journal: Journal, call: AttemptStart): string | undefined;
}

/** Which call an attempt belongs to. */
export interface AttemptStart {
  /** The `phase_started` of the phase run. */
  readonly ref: number;
  /** The `compensation_started`, for a compensation's attempts. */
  readonly compensation: number | undefined;
  /** 1 for the first. */
  readonly attempt: number;
  /** The component called (a sub-flow phase: the flow it runs). */
  readonly component: string;
  /** Its adapter kind (`http`, …; `subflow` for a sub-flow). */
  readonly adapter: string;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The parts of a valid traceparent the journal keeps: the trace and the caller's span. */
export function traceParentOf(traceparent: string | undefined): { traceId: string; parentSpanId: string; traceFlags: string } | undefined {
  const match = traceparent === undefined ? null : TRACEPARENT.exec(traceparent);
  return match === null ? undefined : { traceId: match[2]!, parentSpanId: match[3]!, traceFlags: match[4]! };
}

/** Keeps the trace id, makes a new span id for one outgoing call (W3C Trace Context). */
export function childTraceparent(traceparent: string | undefined): string | undefined {
  const match = traceparent === undefined ? null : TRACEPARENT.exec(traceparent);
  if (match === null) return undefined;
  return `${match[1]}-${match[2]}-${randomBytes(8).toString('hex')}-${match[4]}`;
}
