import { FlowdError, LimitExceededError } from '../../errors.js';
import type { SubflowPhase } from '../../flows/compiled.js';
import type { ExecutionRecord } from '../record.js';
import type { KindContext, KindResult } from '../run/context.js';
import { evaluate } from '../run/scope.js';

/** A sub-flow: runs another flow with the remaining deadline; its output is the phase's. */
export async function runSubflow(phase: SubflowPhase, ctx: KindContext): Promise<KindResult> {
  const { execution, scope, run } = ctx;
  const runtime = execution.runtime;
  if ((execution.options.depth ?? 0) + 1 > runtime.maxSubflowDepth) {
    throw new LimitExceededError(`sub-flow depth limit (${runtime.maxSubflowDepth}) exceeded at phase "${phase.id}"`);
  }
  const input = phase.input === undefined ? scope.input : await evaluate(phase.input, scope);
  run.attempts = 1;
  const options = execution.childOptions(ctx.cancellation.signal);
  // With tracing on, the child's execution is a child of this phase's span (through a call span of its own).
  const traceparent = runtime.trace?.attemptStarted(execution.journal, { ref: run.ref, compensation: undefined, attempt: 1, component: phase.flow, adapter: 'subflow' });
  const child = await runtime.runChild(phase.flow, input, traceparent === undefined ? options : { ...options, traceparent });
  run.childExecutionId = child.executionId;
  if (child.status !== 'succeeded' && !child.recovered) throw childError(child);
  const output = phase.output === undefined ? child.output : await evaluate(phase.output, { ...scope, result: child.output });
  return { output };
}

/** The failure of a sub-flow or prerequisite, as an error of the parent. */
export function childError(child: ExecutionRecord): FlowdError {
  const summary = child.error;
  return new FlowdError(summary?.code ?? 'FLOWD_ERR_INTERNAL', `sub-flow "${child.flow}" ${child.status}: ${summary?.message ?? 'no error recorded'}`, {
    recoverable: summary?.recoverable ?? false,
    details: { childExecutionId: child.executionId, ...(summary?.status === undefined ? {} : { status: summary.status }) },
  });
}
