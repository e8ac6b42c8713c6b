import { isoTime } from '../iso-time.js';
import type { ErrorSummary } from '../record.js';
import type { ExecutionStartedEntry, JournalEntry, LogLevel, PhaseStartedEntry } from './entries.js';

/** One structured log line of an execution, as served by `GET /executions/{id}/logs`. */
export interface ExecutionLogLine {
  time: string;
  level: LogLevel;
  msg: string;
  [field: string]: unknown;
}

/** What a line says, before the execution's bindings (`executionId`, `flow`, `reqId`, `traceId`) are added. */
export interface LineContent {
  readonly level: LogLevel;
  readonly msg: string;
  readonly fields: Record<string, unknown>;
}

/**
 * The line an entry renders as, or undefined for entries that are not log lines (a request sent,
 * a phase started). `entries` is the journal so far (to name the phase an entry points at).
 */
export function lineOf(entry: JournalEntry, entries: readonly JournalEntry[]): LineContent | undefined {
  switch (entry.type) {
    case 'run_started': {
      if (entry.run > 1) return { level: 'info', msg: 'execution resumed', fields: { run: entry.run } };
      const started = entries[0] as ExecutionStartedEntry;
      const fields: Record<string, unknown> = { version: started.version };
      if (started.parentId !== undefined) fields['parentId'] = started.parentId;
      return { level: 'info', msg: 'execution started', fields };
    }
    case 'phase_ended': {
      const started = entries[entry.ref] as PhaseStartedEntry | undefined;
      const fields: Record<string, unknown> = {
        phase: started?.phase,
        kind: started?.kind,
        status: entry.status,
        attempts: entry.attempts,
        durationMs: started === undefined || entry.restored === true ? 0 : Math.round((entry.t - started.t) * 1000) / 1000,
      };
      if (started?.index !== undefined) fields['index'] = started.index;
      if (entry.cached === true) fields['cached'] = true;
      if (entry.fallback === true) fields['fallback'] = true;
      if (entry.restored === true) fields['restored'] = true;
      if (entry.error !== undefined) {
        fields['code'] = entry.error.code;
        fields['error'] = entry.error.message;
      }
      return { level: entry.fallback === true ? 'warn' : 'info', msg: entry.fallback === true ? 'phase fell back' : 'phase finished', fields };
    }
    case 'attempt_failed': {
      if (entry.retryInMs === undefined) return undefined;
      const phase = (entries[entry.ref] as PhaseStartedEntry | undefined)?.phase;
      const fields: Record<string, unknown> = { phase, attempt: entry.attempt, delayMs: entry.retryInMs, err: errorField(entry.error) };
      return { level: 'info', msg: entry.compensation === undefined ? 'retrying phase' : 'retrying compensation', fields };
    }
    case 'execution_failed':
      return { level: 'warn', msg: 'execution failed', fields: { phase: entry.error.phase, err: errorField(entry.error) } };
    case 'compensation_ended': {
      const started = entries[entry.ref];
      const target = started?.type === 'compensation_started' ? (entries[started.ref] as PhaseStartedEntry | undefined) : undefined;
      const fields: Record<string, unknown> = { phase: target?.phase, attempts: entry.attempts };
      if (target?.index !== undefined) fields['index'] = target.index;
      if (entry.error !== undefined) fields['err'] = errorField(entry.error);
      return entry.status === 'succeeded'
        ? { level: 'info', msg: 'compensation succeeded', fields }
        : { level: 'error', msg: 'compensation failed', fields };
    }
    case 'recovery_ended': {
      const fields: Record<string, unknown> = { recoveryFlow: entry.flow, succeeded: entry.succeeded };
      if (entry.executionId === undefined) {
        if (entry.error !== undefined) fields['err'] = errorField(entry.error);
        return { level: 'error', msg: 'recovery flow could not start', fields };
      }
      fields['recoveryExecutionId'] = entry.executionId;
      return { level: entry.succeeded ? 'info' : 'warn', msg: 'recovery flow ended', fields };
    }
    case 'execution_finished': {
      const recovered = entries.some((candidate) => candidate.type === 'recovery_ended' && candidate.succeeded);
      const fields: Record<string, unknown> = { status: entry.status, durationMs: Math.round((entry.t - runStart(entries)) * 1000) / 1000 };
      if (entry.error !== undefined) {
        fields['code'] = entry.error.code;
        fields['phase'] = entry.error.phase;
      }
      if (recovered) fields['recovered'] = true;
      return { level: entry.status === 'succeeded' || recovered ? 'info' : 'warn', msg: 'execution finished', fields };
    }
    case 'run_abandoned':
      return { level: 'warn', msg: 'execution abandoned', fields: { reason: entry.reason } };
    case 'triggered':
      return { level: 'info', msg: 'triggered flow started', fields: { trigger: entry.flow, triggeredExecutionId: entry.executionId } };
    case 'trigger_refused': {
      const fields = { trigger: entry.flow, err: errorField(entry.error) };
      return QUEUE_BOUNDS.has(entry.error.code) ? { level: 'warn', msg: 'triggered flow refused', fields } : { level: 'error', msg: 'triggered flow could not start', fields };
    }
    case 'captures_truncated':
      return { level: 'warn', msg: 'captures truncated', fields: { reason: entry.reason } };
    case 'log':
      return { level: entry.level, msg: entry.msg, fields: { ...entry.fields } };
    case 'execution_started':
    case 'phase_started':
    case 'request_sent':
    case 'response_received':
    case 'cache_checked':
    case 'compensation_started':
      return undefined;
  }
}

/** The codes of a queue bound's refusal (QUEUE_MAX_PER_TENANT, QUEUE_MAX): expected under load, a warning. */
export const QUEUE_BOUNDS: ReadonlySet<string> = new Set(['FLOWD_ERR_QUEUE_FULL', 'FLOWD_ERR_OVERLOADED']);

/** The bindings every line of an execution carries. */
export function lineBindings(entries: readonly JournalEntry[]): Record<string, unknown> {
  const started = entries[0] as ExecutionStartedEntry;
  const bindings: Record<string, unknown> = { executionId: started.executionId, flow: started.flow };
  if (started.requestId !== undefined) bindings['reqId'] = started.requestId;
  if (started.traceId !== undefined) bindings['traceId'] = started.traceId;
  return bindings;
}

/**
 * The execution's log: its lines at `info` and above, rendered from the journal when asked for
 * (`GET /executions/{id}/logs`). `clean` masks secrets and redacts sensitive fields.
 */
export function logView(entries: readonly JournalEntry[], clean: (value: unknown) => unknown = (value) => value): ExecutionLogLine[] {
  const bindings = lineBindings(entries);
  const lines: ExecutionLogLine[] = [];
  for (const entry of entries) {
    const line = lineOf(entry, entries);
    if (line === undefined || line.level === 'trace' || line.level === 'debug') continue;
    const out: ExecutionLogLine = { time: isoTime(entry.at), level: line.level, msg: line.msg };
    Object.assign(out, bindings, clean(line.fields) as Record<string, unknown>);
    lines.push(out);
  }
  return lines;
}

function errorField(error: ErrorSummary): Record<string, unknown> {
  const field: Record<string, unknown> = { message: error.message, code: error.code };
  if (error.status !== undefined) field['status'] = error.status;
  return field;
}

function runStart(entries: readonly JournalEntry[]): number {
  let t = entries[0]!.t;
  for (const entry of entries) if (entry.type === 'run_started') t = entry.t;
  return t;
}
