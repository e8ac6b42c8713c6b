import type { JournalEntry, PhaseStartedEntry } from './entries.js';

/** What a later run may take from a journal instead of running the phases again. */
export interface Checkpoints {
  /** Outputs of phases that completed (decisions excluded: they are re-evaluated), by checkpoint key. */
  readonly checkpoints: Map<string, unknown>;
  /** Requests of completed compensable phases, by checkpoint key (their compensation needs them). */
  readonly compensationRequests: Map<string, unknown>;
}

/**
 * The checkpoints of a journal: every phase that ended `succeeded` with an output (restored ones
 * included, so a second resume keeps them). A phase undone by a compensation is not reusable.
 */
export function checkpointsOf(entries: readonly JournalEntry[]): Checkpoints {
  const checkpoints = new Map<string, unknown>();
  const compensationRequests = new Map<string, unknown>();
  const undone = new Set<number>();
  for (const entry of entries) {
    if (entry.type === 'compensation_ended' && entry.status === 'succeeded') {
      const started = entries[entry.ref];
      if (started?.type === 'compensation_started') undone.add(started.ref);
    }
  }
  for (const entry of entries) {
    if (entry.type !== 'phase_ended' || entry.status !== 'succeeded' || !('output' in entry) || undone.has(entry.ref)) continue;
    const started = entries[entry.ref] as PhaseStartedEntry | undefined;
    if (started === undefined || started.kind === 'decision') continue;
    checkpoints.set(started.key, entry.output);
    if (entry.compensable !== undefined) compensationRequests.set(started.key, entry.compensable.request);
  }
  return { checkpoints, compensationRequests };
}
