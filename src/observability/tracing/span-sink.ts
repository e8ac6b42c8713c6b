import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace, type Attributes, type Context, type Span, type Tracer } from '@opentelemetry/api';
import type { AttemptFailedEntry, ExecutionStartedEntry, JournalEntry, PhaseEndedEntry, PhaseStartedEntry } from '../../engine/journal/entries.js';
import type { Journal, JournalSink } from '../../engine/journal/journal.js';
import type { ErrorSummary } from '../../engine/record.js';
import type { AttemptTraceSource } from '../../engine/trace-context.js';
import { ATTR, errorAttributes, requestAttributes, responseAttributes } from './attributes.js';

/** The spans of one run of one execution that are still open. */
interface RunSpans {
  readonly execution: Span;
  /** Where entry times (monotonic `t`) are converted to epoch ms: this run's first entry. */
  readonly baseAt: number;
  readonly baseT: number;
  /** Phase runs, by the position of their `phase_started`. */
  readonly phases: Map<number, Span>;
  /** Compensations, by the position of their `compensation_started`. */
  readonly compensations: Map<number, Span>;
  /** Attempts, by `ref:compensation:attempt`. */
  readonly attempts: Map<string, Span>;
}

/**
 * OpenTelemetry spans as a view of the execution journal (docs/tracing.md): one span per run of
 * an execution (a child of the caller's `traceparent`, also after a resume), a child per phase
 * run, a child per call attempt (its span id is the `traceparent` the attempt sends) and per
 * compensation. Without a caller's traceparent, `rootTraceId` is told the execution id before its
 * root span starts (tracing.ts makes it the trace id). Times come from the journal's entries. Attributes carry names, statuses and error
 * codes, never inputs or outputs; a URL loses its query string and user info and has secrets masked.
 */
export function createSpanSink(tracer: Tracer, mask: (text: string) => string, rootTraceId?: (executionId: string) => void): JournalSink & AttemptTraceSource {
  const runs = new WeakMap<Journal, RunSpans>();

  const time = (run: RunSpans, t: number): number => run.baseAt + (t - run.baseT);

  const startRun = (journal: Journal, entry: JournalEntry): void => {
    const started = journal.entries[0] as ExecutionStartedEntry;
    const parent = callerContext(started);
    const attributes: Attributes = {
      [ATTR.flow]: started.flow,
      [ATTR.version]: started.version,
      [ATTR.executionId]: started.executionId,
    };
    if (entry.type === 'run_started') attributes[ATTR.run] = entry.run;
    if (started.parentId !== undefined) attributes[ATTR.parentExecutionId] = started.parentId;
    // Without a caller, the trace is the execution's own (the same for every run of it).
    if (parent === ROOT_CONTEXT) rootTraceId?.(started.executionId);
    const execution = tracer.startSpan(`flowd execute ${started.flow}`, { kind: SpanKind.SERVER, startTime: entry.at, attributes }, parent);
    runs.set(journal, { execution, baseAt: entry.at, baseT: entry.t, phases: new Map(), compensations: new Map(), attempts: new Map() });
  };

  const endAttempts = (run: RunSpans, prefix: string, at: number, error: ErrorSummary | undefined): void => {
    for (const [key, span] of run.attempts) {
      if (!key.startsWith(prefix)) continue;
      span.setAttribute(ATTR.outcome, error === undefined ? 'succeeded' : 'failed');
      if (error !== undefined) fail(span, error);
      span.end(at);
      run.attempts.delete(key);
    }
  };

  const endRun = (journal: Journal, run: RunSpans, at: number): void => {
    for (const span of run.attempts.values()) span.end(at);
    for (const span of run.phases.values()) span.end(at);
    for (const span of run.compensations.values()) span.end(at);
    run.execution.end(at);
    runs.delete(journal);
  };

  return {
    onEntry(journal, entry) {
      if (entry.type === 'run_started') {
        // Each run is a span of its own; a resumed run continues the caller's trace (kept in execution_started).
        if (!runs.has(journal)) startRun(journal, entry);
        return;
      }
      const run = runs.get(journal);
      if (run === undefined) return;
      const at = time(run, entry.t);
      switch (entry.type) {
        case 'phase_started': {
          const attributes: Attributes = { [ATTR.phase]: entry.phase, [ATTR.phaseKind]: entry.kind, [ATTR.phaseKey]: entry.key };
          if (entry.component !== undefined) attributes[ATTR.component] = entry.component;
          if (entry.index !== undefined) attributes[ATTR.mapIndex] = entry.index;
          const span = tracer.startSpan(`flowd phase ${entry.phase}`, { startTime: at, attributes }, trace.setSpan(ROOT_CONTEXT, run.execution));
          run.phases.set(journal.length - 1, span);
          break;
        }
        case 'request_sent':
          run.attempts.get(attemptKey(entry.ref, entry.compensation, entry.attempt))?.setAttributes(requestAttributes(entry, mask));
          break;
        case 'response_received': {
          const span = run.attempts.get(attemptKey(entry.ref, entry.compensation, entry.attempt));
          if (span !== undefined) span.setAttributes(responseAttributes(entry.response));
          break;
        }
        case 'attempt_failed': {
          const key = attemptKey(entry.ref, entry.compensation, entry.attempt);
          const span = run.attempts.get(key);
          if (span === undefined) break;
          failAttempt(span, entry);
          span.end(at);
          run.attempts.delete(key);
          break;
        }
        case 'phase_ended':
          endPhase(run, entry, at, endAttempts);
          break;
        case 'compensation_started': {
          const undone = journal.entries[entry.ref] as PhaseStartedEntry;
          const span = tracer.startSpan(`flowd compensate ${undone.phase}`, { startTime: at, attributes: { [ATTR.phase]: undone.phase, [ATTR.compensation]: true } }, trace.setSpan(ROOT_CONTEXT, run.execution));
          run.compensations.set(journal.length - 1, span);
          break;
        }
        case 'compensation_ended': {
          const span = run.compensations.get(entry.ref);
          if (span === undefined) break;
          const compensated = journal.entries[entry.ref];
          if (compensated?.type === 'compensation_started') endAttempts(run, `${compensated.ref}:${entry.ref}:`, at, entry.error);
          span.setAttributes({ [ATTR.status]: entry.status, [ATTR.attempts]: entry.attempts });
          if (entry.error !== undefined) fail(span, entry.error);
          span.end(at);
          run.compensations.delete(entry.ref);
          break;
        }
        case 'execution_finished':
          run.execution.setAttribute(ATTR.status, entry.status);
          if (entry.error !== undefined) fail(run.execution, entry.error);
          endRun(journal, run, at);
          break;
        case 'run_abandoned':
          run.execution.setAttribute(ATTR.abandoned, entry.reason);
          endRun(journal, run, at);
          break;
        default:
          break;
      }
    },

    attemptStarted(journal, call) {
      const run = runs.get(journal);
      if (run === undefined) return undefined;
      const { ref, compensation, attempt } = call;
      const parent = compensation === undefined ? run.phases.get(ref) : run.compensations.get(compensation);
      if (parent === undefined) return undefined;
      const phase = journal.entries[ref] as PhaseStartedEntry;
      const attributes: Attributes = { [ATTR.phase]: phase.phase, [ATTR.attempt]: attempt, [ATTR.component]: call.component, [ATTR.adapter]: call.adapter };
      const span = tracer.startSpan(`flowd call ${call.component}`, { kind: SpanKind.CLIENT, startTime: time(run, performance.now()), attributes }, trace.setSpan(ROOT_CONTEXT, parent));
      run.attempts.set(attemptKey(ref, compensation, attempt), span);
      const context = span.spanContext();
      return `00-${context.traceId}-${context.spanId}-${(context.traceFlags & 1) === 1 ? '01' : '00'}`;
    },
  };
}

function endPhase(run: RunSpans, entry: PhaseEndedEntry, at: number, endAttempts: (run: RunSpans, prefix: string, at: number, error: ErrorSummary | undefined) => void): void {
  // The last attempt of a phase that succeeded ends with it (a successful attempt writes no entry of its own unless captured).
  endAttempts(run, `${entry.ref}::`, at, entry.status === 'failed' ? entry.error : undefined);
  const span = run.phases.get(entry.ref);
  if (span === undefined) return;
  span.setAttributes({ [ATTR.status]: entry.status, [ATTR.attempts]: entry.attempts });
  if (entry.cached === true) span.setAttribute(ATTR.cached, true);
  if (entry.fallback === true) span.setAttribute(ATTR.fallback, true);
  if (entry.restored === true) span.setAttribute(ATTR.restored, true);
  if (entry.error !== undefined) fail(span, entry.error);
  span.end(at);
  run.phases.delete(entry.ref);
}

function attemptKey(ref: number, compensation: number | undefined, attempt: number): string {
  return `${ref}:${compensation ?? ''}:${attempt}`;
}

function failAttempt(span: Span, entry: AttemptFailedEntry): void {
  span.setAttribute(ATTR.outcome, entry.retryInMs === undefined ? 'failed' : 'retried');
  if (entry.retryInMs !== undefined) span.setAttribute(ATTR.retryInMs, entry.retryInMs);
  fail(span, entry.error);
}

function fail(span: Span, error: ErrorSummary): void {
  span.setAttributes(errorAttributes(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error.code });
}

/** The caller's span, kept in the execution's first entry; the root context when there was none. */
function callerContext(started: ExecutionStartedEntry): Context {
  if (started.traceId === undefined || started.parentSpanId === undefined) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, { traceId: started.traceId, spanId: started.parentSpanId, traceFlags: started.traceFlags === undefined ? TraceFlags.SAMPLED : Number.parseInt(started.traceFlags, 16) & TraceFlags.SAMPLED, isRemote: true });
}
