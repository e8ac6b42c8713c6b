import { ExpressionError, FlowdError, toFlowdError } from '../../errors.js';
import type { CompiledDependency } from '../../flows/compiled.js';
import type { Cancellation } from '../cancellation.js';
import { childError } from '../phases/subflow.js';
import type { ExecutionContext } from './context.js';
import { evaluate, PhaseFailure, type Scope } from './scope.js';

/**
 * `depends_on`: each prerequisite runs first (its output is `deps.<flow>`), or, with `within_ms`,
 * must have succeeded recently (looked up, not run).
 */
export async function runDependencies(execution: ExecutionContext, scope: Scope, cancellation: Cancellation): Promise<void> {
  for (const dependency of execution.flow.dependsOn) {
    const where = `depends_on.${dependency.flow}`;
    if (dependency.withinMs !== undefined) {
      scope.deps[dependency.flow] = await recentDependency(execution, scope, dependency, dependency.withinMs);
      continue;
    }
    const input = dependency.input === undefined ? scope.input : await evaluateOrFail(dependency.input, scope, where);
    const child = await execution.runtime.runChild(dependency.flow, input, execution.childOptions(cancellation.signal));
    if (child.status !== 'succeeded' && !child.recovered) throw new PhaseFailure(childError(child), where, 1);
    scope.deps[dependency.flow] = child.output;
  }
}

/** Evaluates, failing "at" `where` (a pseudo phase such as `depends_on.audit` or `output`). */
export async function evaluateOrFail(template: { evaluate(scope: object): unknown }, scope: object, where: string): Promise<unknown> {
  try {
    return await evaluate(template, scope);
  } catch (error) {
    throw new PhaseFailure(toFlowdError(error), where, 0);
  }
}

/** `depends_on` with `within_ms`: the output of a recent succeeded run of the prerequisite, or fail (424). */
async function recentDependency(execution: ExecutionContext, scope: Scope, dependency: CompiledDependency, withinMs: number): Promise<unknown> {
  const { flow } = dependency;
  const where = `depends_on.${flow}`;
  const keyValue = dependency.correlationKey === undefined ? undefined : await evaluateOrFail(dependency.correlationKey, scope, `${where}.correlation_key`);
  if (dependency.correlationKey !== undefined && (keyValue === undefined || keyValue === null || typeof keyValue === 'object')) {
    throw new PhaseFailure(new ExpressionError(`${where}.correlation_key must produce a string or number`), where, 0);
  }
  const key = keyValue === undefined ? undefined : typeof keyValue === 'string' ? keyValue : JSON.stringify(keyValue);
  const found = await execution.runtime.findSucceeded?.(flow, key, withinMs, execution.options.tenant);
  if (found === undefined) {
    const forKey = key === undefined ? '' : ` for correlation key "${key}"`;
    throw new PhaseFailure(
      new FlowdError('FLOWD_ERR_DEPENDENCY_NOT_MET', `prerequisite flow "${flow}" has no succeeded execution${forKey} in the last ${withinMs} ms`, {
        details: { flow, withinMs, ...(key === undefined ? {} : { correlationKey: key }) },
      }),
      where,
      0,
    );
  }
  return found.output;
}
