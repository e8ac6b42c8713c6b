import type { CallPhase, CompiledComponent, CompiledFlow, CompiledPhase } from '../flows/compiled.js';
import { childLists } from '../flows/phase-tree.js';

/** One phase of a flow in document order, with its number (`3.2`) and where it sits. */
export interface PhaseEntry {
  readonly phase: CompiledPhase;
  /** The phase as written in the flow file. */
  readonly definition: Record<string, unknown>;
  readonly number: string;
  readonly depth: number;
  /** e.g. `branch "gold" of decision charge_route`; undefined at the top level. */
  readonly placement: string | undefined;
}

/** Every phase, nested ones included, depth first in file order. */
export function listPhases(flow: CompiledFlow): PhaseEntry[] {
  const out: PhaseEntry[] = [];
  const visit = (phases: readonly CompiledPhase[], prefix: string, depth: number, placement: (phase: CompiledPhase) => string | undefined): void => {
    phases.forEach((phase, index) => {
      const number = `${prefix}${index + 1}`;
      out.push({ phase, definition: definitionAt(flow.definition, phase.path), number, depth, placement: placement(phase) });
      visitChildren(phase, number, depth);
    });
  };
  const visitChildren = (phase: CompiledPhase, number: string, depth: number): void => {
    // Children of one block are numbered together (3.1, 3.2 …) across its branches.
    let counter = 0;
    const nested = (phases: readonly CompiledPhase[], placement: string): void => {
      for (const child of phases) {
        counter += 1;
        const childNumber = `${number}.${counter}`;
        out.push({ phase: child, definition: definitionAt(flow.definition, child.path), number: childNumber, depth: depth + 1, placement });
        visitChildren(child, childNumber, depth + 1);
      }
    };
    for (const list of childLists(phase)) nested(list.phases, list.placement);
  };
  visit(flow.phases, '', 0, () => undefined);
  return out;
}

/** The value at a compiled phase path such as `phases[2].decision[1].otherwise[0]`. */
export function definitionAt(root: unknown, path: string): Record<string, unknown> {
  let current: unknown = root;
  for (const token of path.match(/[^.[\]]+/g) ?? []) {
    if (typeof current !== 'object' || current === null) return {};
    current = /^\d+$/.test(token) ? (current as unknown[])[Number(token)] : (current as Record<string, unknown>)[token];
  }
  return typeof current === 'object' && current !== null ? (current as Record<string, unknown>) : {};
}

export function callPhases(flow: CompiledFlow): CallPhase[] {
  return listPhases(flow)
    .map((entry) => entry.phase)
    .filter((phase): phase is CallPhase => phase.kind === 'call');
}

/** Adapters that run in-process without reaching another system. */
const LOCAL_ADAPTERS = new Set(['transform', 'delay']);

export function isExternal(component: CompiledComponent): boolean {
  return !LOCAL_ADAPTERS.has(component.adapter);
}

/** Which phases use a component, as caller or as compensation target. */
export function usesOf(flow: CompiledFlow, component: string): { calls: string[]; compensations: string[] } {
  const calls: string[] = [];
  const compensations: string[] = [];
  for (const phase of callPhases(flow)) {
    if (phase.component.name === component) calls.push(phase.id);
    if (phase.compensate?.component.name === component) compensations.push(phase.id);
  }
  return { calls, compensations };
}

/** The `${secret:NAME}` names a component's configuration references (names only, never values). */
export function secretNames(definition: unknown): string[] {
  const names = new Set<string>();
  const walk = (value: unknown, depth: number): void => {
    if (depth > 32) return;
    if (typeof value === 'string') for (const match of value.matchAll(/\$\{secret:([A-Za-z_][A-Za-z0-9_]*)\}/g)) names.add(match[1]!);
    else if (Array.isArray(value)) value.forEach((item) => walk(item, depth + 1));
    else if (typeof value === 'object' && value !== null) Object.values(value).forEach((item) => walk(item, depth + 1));
  };
  walk(definition, 0);
  return [...names].sort();
}
