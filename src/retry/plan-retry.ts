import { walkPhases } from '../flows/compiler.js';
import type { CompiledFlow, CompiledPhase } from '../flows/compiled.js';
import { checkpointKey } from '../engine/execution.js';
import type { ExecutionRecord } from '../engine/record.js';

/** Outputs (and compensable requests) of the phases an execution completed, by checkpoint key. */
export interface StoredCheckpoints {
  readonly checkpoints: ReadonlyMap<string, unknown>;
  readonly compensationRequests?: ReadonlyMap<string, unknown> | undefined;
}

/** Where `POST /executions/{id}/retry` reads checkpoints from (a durable store, or the in-process recorder). */
export interface CheckpointSource {
  /** undefined when no checkpoints were kept for the execution (persistence off, expired, unknown). */
  getCheckpoints(executionId: string): Promise<StoredCheckpoints | undefined>;
  /** Told what a rerun restored (restored phases do not checkpoint again), so a retry of a retry finds them. */
  seed?(executionId: string, checkpoints: ReadonlyMap<string, unknown>): void;
}

export interface RetryPlan {
  /** Checkpoints the new run restores instead of running again. */
  readonly checkpoints: Map<string, unknown>;
  readonly compensationRequests: Map<string, unknown>;
  /** The phase the original execution failed in, where the rerun really starts. */
  readonly fromPhase: string | undefined;
}

/**
 * Which completed phases a rerun may reuse: only those whose record (and every record nested
 * inside them) ended `succeeded`. A compensated phase was undone, so it runs again, and so does
 * a map or parallel block any of whose inner phases was compensated.
 */
export function planRetry(flow: CompiledFlow, record: ExecutionRecord, stored: StoredCheckpoints): RetryPlan {
  const phases = new Map<string, CompiledPhase>();
  walkPhases(flow.phases, (phase) => phases.set(phase.id, phase));
  const checkpoints = new Map<string, unknown>();
  const compensationRequests = new Map<string, unknown>();
  for (const [key, output] of stored.checkpoints) {
    if (!reusable(key, record, phases)) continue;
    checkpoints.set(key, output);
    const request = stored.compensationRequests?.get(key);
    if (request !== undefined) compensationRequests.set(key, request);
  }
  return { checkpoints, compensationRequests, fromPhase: record.error?.phase };
}

function reusable(key: string, record: ExecutionRecord, phases: ReadonlyMap<string, CompiledPhase>): boolean {
  const parsed = /^([^#@]+)(?:#(\d+))?(?:@(\d+))?$/.exec(key);
  if (parsed === null) return false;
  const phase = phases.get(parsed[1]!);
  if (phase === undefined) return false;
  const index = parsed[2] === undefined ? undefined : Number(parsed[2]);
  const iteration = parsed[3] === undefined ? undefined : Number(parsed[3]);
  const own = record.phases.find((candidate) => checkpointKey(candidate.id, candidate) === key);
  if (own === undefined || own.status !== 'succeeded') return false;
  const inside = new Set<string>();
  walkPhases([phase], (nested) => inside.add(nested.id));
  return record.phases.every(
    (candidate) =>
      !inside.has(candidate.id) ||
      candidate.status === 'succeeded' ||
      (index !== undefined && candidate.index !== index) ||
      (iteration !== undefined && candidate.iteration !== undefined && candidate.iteration !== iteration),
  );
}
