import type { CompiledPhase } from './compiled.js';

/** A list of phases nested in another phase, with what it is in words. */
export interface ChildList {
  readonly phases: readonly CompiledPhase[];
  /** e.g. `branch "gold" of decision charge_route`. */
  readonly placement: string;
  /** The branch label or name, for decisions and parallel blocks. */
  readonly branch?: string | undefined;
}

/**
 * The one place that knows which phase kinds hold other phases: the compiler, the diagram, the
 * documents, the test scenarios and the retry plan all walk the tree through it. A new kind that
 * nests phases adds its case here.
 */
export function childLists(phase: CompiledPhase): readonly ChildList[] {
  switch (phase.kind) {
    case 'decision':
      return phase.branches.map((branch) => ({ phases: branch.phases, placement: `branch "${branch.label}" of decision ${phase.id}`, branch: branch.label }));
    case 'parallel':
      return phase.branches.map((branch) => ({ phases: branch.phases, placement: `branch "${branch.name}" of parallel block ${phase.id}`, branch: branch.name }));
    case 'map':
      return [{ phases: phase.phases, placement: `inside map ${phase.id}, once per item` }];
    case 'call':
    case 'subflow':
    case 'wait':
      return [];
  }
}

/** Visits every phase, nested ones included, depth first in file order. */
export function walkPhases(phases: readonly CompiledPhase[], visit: (phase: CompiledPhase) => void): void {
  for (const phase of phases) {
    visit(phase);
    for (const list of childLists(phase)) walkPhases(list.phases, visit);
  }
}
