import type { RunSuspension } from '../runtime.js';

/**
 * Thrown by a wait to stop the run there (not a failure): the execution appends `run_suspended`,
 * its durable observer stores it `waiting`, and a later run resumes it from the journal.
 */
export class SuspendRun extends Error {
  constructor(readonly suspension: RunSuspension) {
    super(`the run stops at phase "${suspension.phase}" to wait`);
    this.name = 'SuspendRun';
  }
}
