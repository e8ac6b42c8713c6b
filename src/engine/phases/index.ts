import type { CompiledPhase } from '../../flows/compiled.js';
import type { KindContext, KindResult } from '../run/context.js';
import { runCall } from './call.js';
import { runDecision } from './decision.js';
import { runMap } from './map.js';
import { runParallel } from './parallel.js';
import { runSubflow } from './subflow.js';
import { runCallback, runWait } from './wait.js';

/** How each phase kind runs: one module per kind (see docs/ARCHITECTURE.md, "Adding a phase kind"). */
export function runKind(phase: CompiledPhase, ctx: KindContext): Promise<KindResult> {
  switch (phase.kind) {
    case 'call':
      return phase.callback === undefined ? runCall(phase, ctx) : runCallback(phase, ctx);
    case 'decision':
      return runDecision(phase, ctx);
    case 'parallel':
      return runParallel(phase, ctx);
    case 'map':
      return runMap(phase, ctx);
    case 'subflow':
      return runSubflow(phase, ctx);
    case 'wait':
      return runWait(phase, ctx);
  }
}
