import { isoTime } from '../iso-time.js';
import type { CallRecord, CompensationRecord, ErrorSummary, ExecutionRecord, PhaseRecord } from '../record.js';
import type { ExecutionStartedEntry, JournalEntry } from './entries.js';

export interface RecordViewOptions {
  /**
   * Applied to every value shown (input, output, error messages, captures): secrets masked and
   * sensitive fields redacted. Default: shown as they are (the engine's own callers, tests).
   */
  readonly clean?: ((value: unknown) => unknown) | undefined;
  /** Show the execution's output without `clean` (the answer to the caller who ran it). */
  readonly rawOutput?: boolean | undefined;
  /** Add each phase's output and captured calls (`GET /executions/{id}`). */
  readonly detail?: boolean | undefined;
  /** In detail views, values larger than this (JSON bytes) are shown truncated. Default 8 KiB. */
  readonly maxValueBytes?: number | undefined;
}

const DEFAULT_MAX_VALUE_BYTES = 8 * 1024;

interface PhaseState {
  readonly record: PhaseRecord;
  readonly t: number;
  readonly run: number;
  readonly key: string;
  /** Engine clock of its first `phase_started`: a phase that waited across runs is measured from it. */
  readonly at: number;
  readonly waited?: boolean;
  /** A restored replay, in a run resumed from a wait, of a phase an earlier run completed: shown once, not again. */
  readonly replay?: boolean;
  calls?: Map<number, CallRecord & { t?: number }>;
}

/**
 * The execution record, folded from the journal: what `execute` answers, `GET /executions/{id}`
 * serves, the console draws and the test kit asserts. Built when asked for, never kept in step
 * with the execution as it runs.
 */
export function recordView(entries: readonly JournalEntry[], options: RecordViewOptions = {}): ExecutionRecord {
  const clean = options.clean ?? identity;
  const detail = options.detail === true;
  const show = detail ? capped(clean, options.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES) : clean;
  const started = entries[0] as ExecutionStartedEntry;
  const record = baseRecord(started, clean);
  const phases = new Map<number, PhaseState>();
  const compensations = new Map<number, { record: CompensationRecord; t: number; phase: PhaseState | undefined; calls?: PhaseState['calls'] }>();
  let run = 1;
  let runT = started.t;
  let runs = 0;
  let failedError: ErrorSummary | undefined;
  /** Phases a suspended run stopped in, by key: the next run's `phase_started` continues them. */
  let waitingPhases: Map<string, PhaseState> | undefined;
  /** Phases completed before the last suspension, by key (their restored replays are not shown again). */
  let completedBeforeWait: Map<string, PhaseState> | undefined;
  for (let seq = 1; seq < entries.length; seq++) {
    const entry = entries[seq]!;
    switch (entry.type) {
      case 'run_started':
        // Phases an earlier run started and never ended were cut short (crash, lost lease).
        if (runs > 0) for (const state of phases.values()) if (state.record.status === 'running') interrupt(state.record);
        run = entry.run;
        runT = entry.t;
        runs += 1;
        if (record.waiting !== undefined) {
          record.status = 'running';
          record.waiting = undefined;
        }
        break;
      case 'run_suspended':
        record.status = 'waiting';
        record.waiting = { phase: entry.phase, for: entry.for, until: isoTime(entry.until) };
        if (entry.signal !== undefined) record.waiting.signal = entry.signal;
        waitingPhases = new Map();
        completedBeforeWait = new Map();
        for (const state of phases.values()) {
          if (state.record.status === 'succeeded') completedBeforeWait.set(state.key, state);
          if (state.record.status !== 'running') continue;
          state.record.status = 'waiting';
          waitingPhases.set(state.key, state);
        }
        break;
      case 'phase_started': {
        const waited = waitingPhases?.get(entry.key);
        if (waited !== undefined) {
          waitingPhases!.delete(entry.key);
          waited.record.status = 'running';
          // The calls made before the wait (a callback phase's request) stay the phase's calls.
          phases.set(seq, { record: waited.record, t: entry.t, run, key: entry.key, at: waited.at, waited: true, calls: waited.calls });
          break;
        }
        const done = completedBeforeWait?.get(entry.key);
        if (done !== undefined) {
          completedBeforeWait!.delete(entry.key);
          phases.set(seq, { ...done, replay: true });
          break;
        }
        const phase: PhaseRecord = { id: entry.phase, kind: entry.kind, status: 'running', attempts: 0, startedAt: isoTime(entry.at) };
        if (entry.index !== undefined) phase.index = entry.index;
        if (entry.iteration !== undefined) phase.iteration = entry.iteration;
        if (entry.component !== undefined) phase.component = entry.component;
        record.phases.push(phase);
        phases.set(seq, { record: phase, t: entry.t, run, key: entry.key, at: entry.at });
        break;
      }
      case 'cache_checked': {
        const state = phases.get(entry.ref);
        if (state !== undefined) state.record.cached = entry.hit;
        break;
      }
      case 'request_sent':
      case 'response_received':
      case 'attempt_failed': {
        const owner = entry.compensation === undefined ? phases.get(entry.ref) : compensations.get(entry.compensation);
        if (owner === undefined) break;
        if (entry.compensation === undefined) {
          const phase = owner as PhaseState;
          if (entry.attempt > phase.record.attempts) phase.record.attempts = entry.attempt;
        }
        if (detail) noteCall(owner, entry, clean, show);
        break;
      }
      case 'phase_ended': {
        const state = phases.get(entry.ref);
        if (state === undefined || (state.replay === true && entry.restored === true)) break;
        endPhase(state, entry, run, clean);
        if (entry.fallback === true) record.fallbackExecuted = record.errorHandled = true;
        if (detail) {
          if ('output' in entry) state.record.output = show(entry.output);
          if (state.calls !== undefined) state.record.calls = [...state.calls.values()].map(stripT);
        }
        break;
      }
      case 'execution_failed':
        failedError = cleanError(entry.error, clean);
        record.error = failedError;
        break;
      case 'compensation_started': {
        const target = phases.get(entry.ref);
        const compensation: CompensationRecord = { phase: target?.record.id ?? '?', status: 'pending', attempts: 0 };
        if (target?.record.index !== undefined) compensation.index = target.record.index;
        (record.compensations ??= []).push(compensation);
        compensations.set(seq, { record: compensation, t: entry.t, phase: target });
        break;
      }
      case 'compensation_ended': {
        const state = compensations.get(entry.ref);
        if (state === undefined) break;
        const compensation = state.record;
        compensation.status = entry.status;
        compensation.attempts = entry.attempts;
        compensation.durationMs = round(entry.t - state.t);
        if (entry.error !== undefined) compensation.error = cleanError(entry.error, clean);
        if (entry.status === 'succeeded' && state.phase !== undefined) state.phase.record.status = 'compensated';
        if (failedError !== undefined) record.errorHandled = true;
        if (detail && state.calls !== undefined) compensation.calls = [...state.calls.values()].map(stripT);
        break;
      }
      case 'recovery_ended':
        if (entry.executionId !== undefined) record.recoveryExecutionId = entry.executionId;
        if (entry.succeeded) record.recovered = record.errorHandled = true;
        break;
      case 'execution_finished':
        record.status = entry.status;
        record.finishedAt = isoTime(entry.at);
        // A queued execution cancelled before it ran has no run to measure.
        if (runs > 0) record.durationMs = round(entry.t - runT);
        if ('output' in entry) record.output = options.rawOutput === true ? entry.output : clean(entry.output);
        if (entry.error !== undefined) record.error = cleanError(entry.error, clean);
        break;
      case 'triggered':
        (record.triggered ??= []).push(entry.executionId);
        break;
      case 'trigger_refused':
        (record.triggersRefused ??= []).push({ flow: entry.flow, error: cleanError(entry.error, clean) });
        break;
      case 'captures_truncated':
        if (detail) record.capturesTruncated = true;
        break;
      case 'log':
      case 'run_abandoned':
      case 'execution_started':
      case 'wait_started':
      case 'signal_received':
        break;
    }
  }
  if (runs === 0 && record.status === 'running') record.status = 'queued';
  return record;
}

function baseRecord(started: ExecutionStartedEntry, clean: (value: unknown) => unknown): ExecutionRecord {
  const record: ExecutionRecord = {
    executionId: started.executionId,
    flow: started.flow,
    version: started.version,
    status: 'running',
    startedAt: isoTime(started.at),
    errorHandled: false,
    fallbackExecuted: false,
    recovered: false,
    phases: [],
  };
  // Optional fields set one by one: a literal with conditional spreads (or a delete) takes a slow V8 path.
  if (started.input !== undefined) record.input = clean(started.input);
  if (started.parentId !== undefined) record.parentId = started.parentId;
  if (started.requestId !== undefined) record.requestId = started.requestId;
  if (started.retryOf !== undefined) record.retryOf = started.retryOf;
  if (started.correlationKey !== undefined) record.correlationKey = started.correlationKey;
  if (started.trigger !== undefined) record.trigger = { ...started.trigger };
  return record;
}

function interrupt(phase: PhaseRecord): void {
  phase.status = 'cancelled';
  phase.interrupted = true;
}

function endPhase(state: PhaseState, entry: Extract<JournalEntry, { type: 'phase_ended' }>, run: number, clean: (value: unknown) => unknown): void {
  const phase = state.record;
  phase.status = entry.status;
  // A phase resumed after its wait makes no new attempt in the resuming run: its attempts are the earlier run's.
  phase.attempts = state.waited === true ? Math.max(phase.attempts, entry.attempts) : entry.attempts;
  phase.finishedAt = isoTime(entry.at);
  if (entry.restored === true) {
    phase.restored = true;
    phase.durationMs = 0;
  } else if (state.waited === true) {
    phase.durationMs = round(entry.at - state.at);
  } else if (run === state.run) {
    phase.durationMs = round(entry.t - state.t);
  }
  if (entry.error !== undefined) phase.error = cleanError(entry.error, clean);
  if (entry.cached !== undefined) phase.cached = entry.cached;
  if (entry.fallback === true) phase.fallback = true;
  if (entry.branch !== undefined) phase.branch = entry.branch;
  if (entry.childExecutionId !== undefined) phase.childExecutionId = entry.childExecutionId;
}

function noteCall(
  owner: { calls?: PhaseState['calls'] },
  entry: Extract<JournalEntry, { type: 'request_sent' | 'response_received' | 'attempt_failed' }>,
  clean: (value: unknown) => unknown,
  show: (value: unknown) => unknown,
): void {
  owner.calls ??= new Map();
  let call = owner.calls.get(entry.attempt);
  if (call === undefined) {
    call = { attempt: entry.attempt, startedAt: isoTime(entry.at), t: entry.t };
    owner.calls.set(entry.attempt, call);
  }
  if (entry.type === 'request_sent') call.request = show(entry.request);
  else {
    if (call.t !== undefined) call.durationMs = round(entry.t - call.t);
    if (entry.type === 'response_received') call.response = show(entry.response);
    else {
      call.error = cleanError(entry.error, clean);
      if (entry.detail !== undefined) call.detail = show(entry.detail);
      if (entry.retryInMs !== undefined) call.retryInMs = entry.retryInMs;
    }
  }
}

function stripT(call: CallRecord & { t?: number }): CallRecord {
  const { t: _t, ...rest } = call;
  return rest;
}

/** Error messages may quote upstream bodies or secrets: they are cleaned like any value. */
function cleanError(error: ErrorSummary, clean: (value: unknown) => unknown): ErrorSummary {
  return clean === identity ? error : (clean(error) as ErrorSummary);
}

/** `clean`, then values over `maxBytes` of JSON replaced by a truncated preview. */
function capped(clean: (value: unknown) => unknown, maxBytes: number): (value: unknown) => unknown {
  return (value) => {
    const shown = clean(value);
    if (shown === undefined || shown === null || typeof shown !== 'object') {
      return typeof shown === 'string' && shown.length > maxBytes ? { truncated: true, bytes: Buffer.byteLength(shown), preview: shown.slice(0, maxBytes) } : shown;
    }
    let text: string;
    try {
      text = JSON.stringify(shown);
    } catch {
      return { truncated: true, reason: 'not serialisable' };
    }
    if (text.length <= maxBytes) return shown;
    return { truncated: true, bytes: Buffer.byteLength(text), preview: text.slice(0, maxBytes) };
  };
}

function identity(value: unknown): unknown {
  return value;
}

/** Durations are measured between entries of one run (one process); never negative. */
function round(ms: number): number {
  return Math.max(0, Math.round(ms * 1000) / 1000);
}
