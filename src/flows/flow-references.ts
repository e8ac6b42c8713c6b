import { didYouMean, listNames } from './suggest.js';

/** One reference from a flow to another: a sub-flow phase, a prerequisite, a trigger or the recovery flow. */
export interface FlowReference {
  readonly target: string;
  /** Where it is written, e.g. `phases[3].flow`, `recovery_flow`. */
  readonly path: string;
  /** Recovery flows run after a failure, not as part of one: they take no part in cycles. */
  readonly kind: 'subflow' | 'depends_on' | 'trigger' | 'recovery';
}

/** What the reference check needs of each flow read, compiled or not. */
export interface FlowReferences {
  readonly name: string;
  readonly references: readonly FlowReference[];
  readonly report: (path: string, message: string) => void;
  /** It has a wait that outlasts a run (docs/waits.md): it cannot run inside another flow's run. */
  readonly waits?: boolean | undefined;
}

/**
 * Sub-flows, recovery flows, prerequisites and triggers must name flows that exist (a near name
 * is suggested), a flow cannot be its own recovery flow, and sub-flows, prerequisites and
 * triggers must not form a cycle. Works on every flow read, including flows with other problems,
 * so these are reported in the same pass.
 */
export function checkFlowReferences(flows: readonly FlowReferences[]): void {
  // Versions of one flow side by side are one node: the references of each, reported in its own file.
  const byName = new Map<string, { reference: FlowReference; report: FlowReferences['report'] }[]>();
  for (const flow of flows) {
    const edges = byName.get(flow.name) ?? [];
    byName.set(flow.name, [...edges, ...flow.references.map((reference) => ({ reference, report: flow.report }))]);
  }
  const names = [...byName.keys()].sort();
  const waiting = new Set(flows.filter((flow) => flow.waits === true).map((flow) => flow.name));
  for (const flow of flows) {
    for (const reference of flow.references) {
      if (!byName.has(reference.target)) {
        const near = didYouMean(reference.target, names);
        flow.report(reference.path, `unknown flow "${reference.target}"${near}; flows in this directory: ${listNames(names)}`);
      } else if (reference.kind === 'recovery' && reference.target === flow.name) {
        flow.report(reference.path, 'a flow cannot be its own recovery flow');
      } else if (reference.kind !== 'trigger' && waiting.has(reference.target)) {
        flow.report(reference.path, `flow "${reference.target}" waits (for a time, a signal or a callback): as a ${reference.kind === 'subflow' ? 'sub-flow' : reference.kind === 'recovery' ? 'recovery flow' : 'prerequisite'} it would run inside this flow's run, which cannot stop for it; start it with \`triggers\` instead, or move its wait into this flow`);
      }
    }
  }
  // Depth-first search for cycles through sub-flows, prerequisites and triggers.
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, trail: string[]): void => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      const from = trail[trail.length - 1]!;
      const cycle = [...trail.slice(trail.indexOf(name)), name];
      const edge = byName.get(from)?.find(({ reference }) => reference.target === name && reference.kind !== 'recovery');
      edge?.report(edge.reference.path, `flow cycle: ${cycle.join(' → ')}`);
      return;
    }
    state.set(name, 'visiting');
    for (const { reference } of byName.get(name) ?? []) {
      if (reference.kind !== 'recovery' && byName.has(reference.target)) visit(reference.target, [...trail, name]);
    }
    state.set(name, 'done');
  };
  for (const name of byName.keys()) visit(name, []);
}
