import { LimitExceededError, toFlowdError } from '../../errors.js';
import type { MapPhase } from '../../flows/compiled.js';
import type { KindContext, KindResult } from '../run/context.js';
import { runConcurrently } from '../run/concurrency.js';
import { evaluate, PhaseFailure, type Scope } from '../run/scope.js';

/** A map: the phase list runs per item (bounded concurrency, fail fast); output: per-item results in order. */
export async function runMap(phase: MapPhase, ctx: KindContext): Promise<KindResult> {
  const { scope, location, run } = ctx;
  const execution = ctx.execution;
  let items: unknown;
  try {
    items = await evaluate(phase.items, scope);
  } catch (error) {
    throw new PhaseFailure(toFlowdError(error), phase.id, 0);
  }
  if (items === undefined) items = [];
  const list = Array.isArray(items) ? items : [items];
  const limit = Math.min(phase.maxItems, execution.runtime.maxMapItems);
  if (list.length > limit) {
    throw new PhaseFailure(new LimitExceededError(`map "${phase.id}" has ${list.length} items, more than its limit of ${limit}`), phase.id, 0);
  }
  run.attempts = 1;
  const concurrency = execution.options.parallelExecution === false ? 1 : phase.concurrency;
  const output = await runConcurrently(list, concurrency, ctx.cancellation, async (item, itemCancellation, index) => {
    const itemScope: Scope = { ...scope, phases: { ...scope.phases }, item, index };
    const last = await ctx.runList(phase.phases, itemScope, { ...location, index }, itemCancellation);
    return phase.output === undefined ? last : evaluate(phase.output, itemScope);
  });
  return { output };
}
