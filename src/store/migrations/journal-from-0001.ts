import type { JournalRow } from '../execution-store.js';

/**
 * flowd 0.1.0 kept an execution as a record (JSON, values already masked), its raw input, one
 * checkpoint row per completed phase (raw output and, for compensable calls, the request sent)
 * and captured log lines. This turns them into journal rows as the durable layer would have
 * written them (`src/durable/journal-codec.ts`: `data` as shown, `state` the raw values), so old
 * executions stay readable, and unfinished ones resumable from their checkpoints.
 *
 * What 0.1.0 did not keep cannot be recovered: phase outputs appear in `state` only (nothing
 * masked them), requests and responses were never captured, and the phases of an unfinished
 * execution are known only from its checkpoints (shown as completed `call` phases).
 */

/** The 0.1.0 tenant of every execution: there were no tenants before. */
export const LEGACY_TENANT = 'local';

export interface LegacyExecution {
  readonly id: string;
  readonly flowHash: string;
  readonly status: string;
  /** `{"v": input}` (raw), or null. */
  readonly input: string | null;
  readonly options: string | null;
  /** The ExecutionRecord JSON, as shown. */
  readonly record: string;
  readonly createdAt: number;
  readonly finishedAt: number | null;
}

export interface LegacyCheckpoint {
  readonly key: string;
  /** `{"v": output}`: a missing `v` is an undefined output (the phase runs again). */
  readonly output: string | null;
  readonly request: string | null;
  readonly createdAt: number;
}

export interface ConvertedExecution {
  readonly rows: JournalRow[];
  readonly startedAt: number;
  readonly errorCode: string | undefined;
  readonly recovered: boolean | undefined;
}

type Json = Record<string, unknown>;

interface Draft {
  readonly entry: Json;
  state?: Json;
  /** The draft this entry's `ref` points at. */
  ref?: Draft;
}

interface LegacyPhase {
  id: string;
  kind: string;
  status: string;
  attempts?: number;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  index?: number;
  iteration?: number;
  component?: string;
  branch?: string;
  cached?: boolean;
  fallback?: boolean;
  restored?: boolean;
  childExecutionId?: string;
  error?: unknown;
}

interface LegacyRecord {
  flow: string;
  version: string;
  input?: unknown;
  output?: unknown;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  recovered?: boolean;
  phases?: LegacyPhase[];
  error?: { code?: string };
  compensations?: { phase: string; index?: number; status: string; attempts?: number; durationMs?: number; error?: unknown }[];
  recoveryExecutionId?: string;
  triggered?: string[];
  parentId?: string;
  requestId?: string;
  retryOf?: string;
  correlationKey?: string;
}

const TERMINAL = new Set(['succeeded', 'failed', 'compensated', 'compensation_failed', 'timed_out', 'cancelled']);

/** Ids of other executions a record names (their flows are looked up to fill `flow` fields). */
export function referencedExecutions(record: string): string[] {
  const parsed = JSON.parse(record) as LegacyRecord;
  return [...(parsed.recoveryExecutionId === undefined ? [] : [parsed.recoveryExecutionId]), ...(parsed.triggered ?? [])];
}

export function convertLegacyExecution(
  old: LegacyExecution,
  checkpoints: readonly LegacyCheckpoint[],
  logLines: readonly string[],
  flowOf: (executionId: string) => string | undefined,
): ConvertedExecution {
  const record = JSON.parse(old.record) as LegacyRecord;
  const status = old.status;
  const startAt = time(record.startedAt) ?? old.createdAt;
  const endAt = time(record.finishedAt) ?? old.finishedAt ?? startAt;
  const options = old.options === null ? {} : (JSON.parse(old.options) as Json);
  const drafts: Draft[] = [];
  const add = (entry: Json, ref?: Draft): Draft => {
    const draft: Draft = ref === undefined ? { entry } : { entry, ref };
    drafts.push(draft);
    return draft;
  };
  const at = (ms: number): { at: number; t: number } => ({ at: ms, t: ms - startAt });

  const started = add(
    defined({
      type: 'execution_started',
      ...at(startAt),
      executionId: old.id,
      flow: record.flow,
      version: record.version,
      hash: old.flowHash,
      input: record.input,
      parentId: record.parentId,
      requestId: record.requestId ?? options['requestId'],
      retryOf: record.retryOf,
      correlationKey: record.correlationKey,
      tenant: LEGACY_TENANT,
    }),
  );
  const input = unwrap(old.input);
  if (input.present) started.state = { input: input.value };
  if (status !== 'queued') add({ type: 'run_started', ...at(startAt), run: 1 });

  const byKey = new Map(checkpoints.map((checkpoint) => [checkpoint.key, checkpoint]));
  const phaseDrafts: { phase: LegacyPhase; started: Draft }[] = [];
  for (const phase of record.phases ?? []) {
    const key = checkpointKey(phase.id, phase.index, phase.iteration);
    const checkpoint = byKey.get(key);
    byKey.delete(key);
    const phaseStart = time(phase.startedAt) ?? startAt;
    const phaseStarted = add(defined({ type: 'phase_started', ...at(phaseStart), phase: phase.id, kind: phase.kind, key, index: phase.index, iteration: phase.iteration, component: phase.component }));
    phaseDrafts.push({ phase, started: phaseStarted });
    if (phase.status === 'running') continue;
    const ended = add(
      defined({
        type: 'phase_ended',
        at: time(phase.finishedAt) ?? phaseStart,
        t: phaseStart - startAt + (phase.durationMs ?? 0),
        status: phase.status === 'compensated' ? 'succeeded' : phase.status,
        attempts: phase.attempts ?? 0,
        error: phase.error,
        cached: phase.cached,
        fallback: phase.fallback,
        restored: phase.restored,
        branch: phase.branch,
        childExecutionId: phase.childExecutionId,
      }),
      phaseStarted,
    );
    if (checkpoint !== undefined) ended.state = checkpointState(checkpoint);
  }
  // Checkpoints without a phase in the record: an unfinished execution's record had no phases yet.
  for (const checkpoint of [...byKey.values()].sort((a, b) => a.createdAt - b.createdAt)) {
    const { id, index, iteration } = parseKey(checkpoint.key);
    const phaseStarted = add(defined({ type: 'phase_started', ...at(checkpoint.createdAt), phase: id, kind: 'call', key: checkpoint.key, index, iteration }));
    const ended = add({ type: 'phase_ended', ...at(checkpoint.createdAt), status: 'succeeded', attempts: 1 }, phaseStarted);
    ended.state = checkpointState(checkpoint);
  }

  if (record.error !== undefined && status !== 'succeeded' && TERMINAL.has(status)) add({ type: 'execution_failed', ...at(endAt), error: record.error });
  for (const compensation of record.compensations ?? []) {
    const target = phaseDrafts.findLast(({ phase }) => phase.id === compensation.phase && phase.index === compensation.index);
    const compensationStarted = add({ type: 'compensation_started', ...at(endAt) }, target?.started ?? started);
    if (compensation.status === 'pending') continue;
    add(
      defined({ type: 'compensation_ended', at: endAt, t: endAt - startAt + (compensation.durationMs ?? 0), status: compensation.status, attempts: compensation.attempts ?? 0, error: compensation.error }),
      compensationStarted,
    );
  }
  if (record.recoveryExecutionId !== undefined) {
    add({ type: 'recovery_ended', ...at(endAt), flow: flowOf(record.recoveryExecutionId) ?? '?', executionId: record.recoveryExecutionId, succeeded: record.recovered === true });
  }
  if (TERMINAL.has(status)) {
    add(defined({ type: 'execution_finished', at: endAt, t: record.durationMs ?? endAt - startAt, status, output: record.output, error: record.error }));
    for (const executionId of record.triggered ?? []) add({ type: 'triggered', ...at(endAt), flow: flowOf(executionId) ?? '?', executionId });
  }

  const ordered = withLogLines(drafts, logLines, startAt);
  const seqs = new Map(ordered.map((draft, seq) => [draft, seq]));
  const rows = ordered.map((draft, seq): JournalRow => {
    const entry = draft.ref === undefined ? draft.entry : { ...draft.entry, ref: seqs.get(draft.ref) };
    return { seq, type: entry['type'] as string, data: JSON.stringify(entry), state: draft.state === undefined ? null : JSON.stringify(draft.state) };
  });
  return {
    rows,
    startedAt: startAt,
    errorCode: status === 'succeeded' ? undefined : record.error?.code,
    recovered: record.recovered,
  };
}

/** Log lines go where their time falls among the other entries (never before the run began). */
function withLogLines(drafts: readonly Draft[], logLines: readonly string[], startAt: number): Draft[] {
  if (logLines.length === 0) return [...drafts];
  const lines = logLines.map((text): Draft => {
    const { time: when, level, msg, ...fields } = JSON.parse(text) as Json;
    const at = time(typeof when === 'string' ? when : undefined) ?? startAt;
    return { entry: { type: 'log', at, t: at - startAt, level: level ?? 'info', msg: msg ?? '', fields } };
  });
  const first = drafts[1]?.entry['type'] === 'run_started' ? 2 : 1;
  const ordered = drafts.slice(0, first);
  let next = 0;
  for (const draft of drafts.slice(first)) {
    while (next < lines.length && (lines[next]!.entry['at'] as number) < (draft.entry['at'] as number)) ordered.push(lines[next++]!);
    ordered.push(draft);
  }
  ordered.push(...lines.slice(next));
  return ordered;
}

function checkpointState(checkpoint: LegacyCheckpoint): Json | undefined {
  const state: Json = {};
  const output = unwrap(checkpoint.output);
  if (output.present) state['output'] = output.value;
  const request = unwrap(checkpoint.request);
  if (request.present) state['compensable'] = { request: request.value };
  return Object.keys(state).length === 0 ? undefined : state;
}

/** 0.1.0 wrapped stored values as `{"v": value}` so that undefined survived (as an absent `v`). */
function unwrap(text: string | null): { present: boolean; value?: unknown } {
  if (text === null) return { present: false };
  const wrapped = JSON.parse(text) as { v?: unknown };
  return 'v' in wrapped ? { present: true, value: wrapped.v } : { present: false };
}

/** 0.1.0's checkpoint key: `id`, `id#mapIndex`, `id@loopPass`, `id#mapIndex@loopPass`. */
function checkpointKey(id: string, index: number | undefined, iteration: number | undefined): string {
  return `${id}${index === undefined ? '' : `#${index}`}${iteration === undefined ? '' : `@${iteration}`}`;
}

function parseKey(key: string): { id: string; index?: number; iteration?: number } {
  const match = /^(.*?)(?:#(\d+))?(?:@(\d+))?$/.exec(key)!;
  return defined({ id: match[1]!, index: number(match[2]), iteration: number(match[3]) }) as { id: string; index?: number; iteration?: number };
}

function number(text: string | undefined): number | undefined {
  return text === undefined ? undefined : Number(text);
}

function time(iso: string | undefined): number | undefined {
  if (iso === undefined) return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms;
}

/** The object without its undefined fields (as JSON.stringify would drop them anyway, but `in` checks would not). */
function defined(object: Json): Json {
  for (const key of Object.keys(object)) if (object[key] === undefined) delete object[key];
  return object;
}
