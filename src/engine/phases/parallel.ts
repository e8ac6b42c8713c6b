import type { ParallelPhase } from '../../flows/compiled.js';
import type { KindContext, KindResult } from '../run/context.js';
import { runConcurrently } from '../run/concurrency.js';

/** A parallel block: branches run concurrently (fail fast) and join; output `{<branch>: <last output>}`. */
export async function runParallel(phase: ParallelPhase, ctx: KindContext): Promise<KindResult> {
  const { scope, location } = ctx;
  const limit = ctx.execution.options.parallelExecution === false ? 1 : phase.branches.length;
  const results = await runConcurrently(phase.branches, limit, ctx.cancellation, (branch, branchCancellation) => ctx.runList(branch.phases, scope, location, branchCancellation));
  const output: Record<string, unknown> = {};
  phase.branches.forEach((branch, i) => {
    output[branch.name] = results[i];
  });
  return { output };
}
