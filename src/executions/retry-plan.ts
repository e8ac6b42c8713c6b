import { walkPhases } from '../flows/phase-tree.js';
import type { CompiledFlow, CompiledPhase } from '../flows/compiled.js';
import type { Checkpoints } from '../engine/journal/checkpoints.js';
import { checkpointKey } from '../engine/run/scope.js';
import type { ExecutionRecord } from '../engine/record.js';

export interface RetryPlan extends Checkpoints {
  /** The phase the original execution failed in, where the rerun really starts. */
  readonly fromPhase: string | undefined;
}

/**
 * Which completed phases a rerun may reuse: only those whose record (and every record nested
 * inside them) ended `succeeded`. A compensated phase was undone, so it runs again, and so does
 * a map or parallel block any of whose inner phases was compensated.
 */
export function planRetry(
  flow: CompiledFlow,
  record: ExecutionRecord,
  stored: { readonly checkpoints: ReadonlyMap<string, unknown>; readonly compensationRequests?: ReadonlyMap<string, unknown> | undefined },
): RetryPlan {
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
  const own = record.phases.find((candidate) => checkpointKey(candidate.id, candidate) === key && candidate.status === 'succeeded');
  if (own === undefined) return false;
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
