import { ExpressionError, toFlowdError } from '../../errors.js';
import type { DecisionPhase } from '../../flows/compiled.js';
import type { KindContext, KindResult } from '../run/context.js';
import { evaluate, PhaseFailure } from '../run/scope.js';

/**
 * A decision: the first branch whose `when` is true runs (or `otherwise`); its output is
 * `{branch, output}`. A `when` must produce a boolean: anything else fails the phase, so a typo
 * never silently takes the default branch.
 */
export async function runDecision(phase: DecisionPhase, ctx: KindContext): Promise<KindResult> {
  const { scope, location, cancellation, run } = ctx;
  for (const branch of phase.branches) {
    if (branch.when !== undefined) {
      let chosen: unknown;
      try {
        chosen = await evaluate(branch.when, scope);
      } catch (error) {
        throw new PhaseFailure(toFlowdError(error), phase.id, 0);
      }
      if (typeof chosen !== 'boolean') throw new PhaseFailure(notBoolean(branch.when, chosen), phase.id, 0);
      if (!chosen) continue;
    }
    run.branch = branch.label;
    const output = await ctx.runList(branch.phases, scope, location, cancellation);
    const result = { output: { branch: branch.label, output } };
    return branch.goto === undefined ? result : { ...result, goto: { target: branch.goto, max: branch.maxIterations } };
  }
  run.branch = '(none)';
  return { output: { branch: null, output: null } };
}

function notBoolean(when: { source: string; where: string }, value: unknown): ExpressionError {
  const details = { expression: when.source, where: when.where };
  if (value === undefined) {
    return new ExpressionError(`${when.where}: expression "${when.source}" produced no value (a path it reads is missing)`, details);
  }
  const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
  return new ExpressionError(
    `${when.where}: expression "${when.source}" produced ${kind}, not a boolean; a when must be true or false (compare explicitly, e.g. "… = 'yes'", or use $boolean(…))`,
    details,
  );
}
