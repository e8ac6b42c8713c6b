import { toFlowdError, type FlowdError } from '../../errors.js';
import type { ErrorSummary } from '../record.js';
import type { ExecutionContext } from './context.js';
import { summarize, type Scope } from './scope.js';

export interface RecoveryOutcome {
  /** The execution's output: the recovery flow's, when it succeeded. */
  readonly recovered: boolean;
  readonly output?: unknown;
  /** The execution's error from here on. */
  readonly error: ErrorSummary;
}

/**
 * `recovery_flow`: runs it with `{error, input, phases}` when the failure is one it applies to.
 * Returns undefined when no recovery applies. Journaled as `recovery_ended`.
 */
export async function recover(execution: ExecutionContext, failure: FlowdError, error: ErrorSummary, scope: Scope): Promise<RecoveryOutcome | undefined> {
  const recovery = execution.flow.recovery;
  if (recovery === undefined || execution.options.noRecovery === true) return undefined;
  const applies = recovery.on === undefined ? failure.recoverable : recovery.on.has(failure.code);
  if (!applies) return undefined;
  const journal = execution.journal;
  const options = execution.options;
  let child;
  try {
    child = await execution.runtime.runChild(
      recovery.flow,
      { error, input: scope.input, phases: { ...scope.phases } },
      {
        parentId: execution.executionId,
        depth: (options.depth ?? 0) + 1,
        noRecovery: true,
        requestId: options.requestId,
        traceparent: options.traceparent,
        tenant: options.tenant,
      },
    );
  } catch (thrown) {
    // The recovery flow could not start (its input schema refused what it was given): the
    // original failure stands, with why recovery did not run as its newest error.
    const startError: ErrorSummary = { ...summarize(toFlowdError(thrown), `recovery_flow ${recovery.flow}`), cause: error };
    journal.append({ type: 'recovery_ended', flow: recovery.flow, succeeded: false, error: startError });
    return { recovered: false, error: startError };
  }
  const succeeded = child.status === 'succeeded';
  const next: ErrorSummary = !succeeded && child.error !== undefined ? { ...child.error, cause: error } : error;
  journal.append({
    type: 'recovery_ended',
    flow: recovery.flow,
    executionId: child.executionId,
    succeeded,
    ...(next === error ? {} : { error: next }),
  });
  return succeeded ? { recovered: true, output: child.output, error } : { recovered: false, error: next };
}
