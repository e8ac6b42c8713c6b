import { walkPhases } from '../flows/phase-tree.js';
import type { CompiledFlow } from '../flows/compiled.js';
import { code, expressionText, fence, mermaidId, mermaidLabel } from './markdown.js';
import { definitionAt } from './phase-walk.js';

type Relation = 'sub-flow' | 'prerequisite' | 'trigger' | 'recovery';

/** One edge between two flows, as the `from` flow's definition declares it. */
export interface FlowLink {
  readonly from: string;
  readonly to: string;
  readonly relation: Relation;
  /** Phase id for sub-flows, trigger condition for triggers. */
  readonly detail: string | undefined;
  readonly input: unknown;
}

export function linksOf(flow: CompiledFlow): FlowLink[] {
  const links: FlowLink[] = [];
  for (const dependency of flow.definition.depends_on ?? []) {
    const window = dependency.within_ms === undefined ? undefined : `${dependency.within_ms}`;
    links.push({ from: flow.name, to: dependency.flow, relation: 'prerequisite', detail: window, input: dependency.correlation_key ?? dependency.input });
  }
  walkPhases(flow.phases, (phase) => {
    if (phase.kind === 'subflow') links.push({ from: flow.name, to: phase.flow, relation: 'sub-flow', detail: phase.id, input: definitionAt(flow.definition, phase.path)['input'] });
  });
  for (const trigger of flow.definition.triggers ?? []) {
    links.push({ from: flow.name, to: trigger.flow, relation: 'trigger', detail: trigger.on ?? 'succeeded', input: trigger.input });
  }
  if (flow.recovery !== undefined) links.push({ from: flow.name, to: flow.recovery.flow, relation: 'recovery', detail: undefined, input: undefined });
  return links;
}

/** Section 8: what this flow needs, starts and is used by, with a Mermaid graph LR. */
export function integration(flow: CompiledFlow, flows: ReadonlyMap<string, CompiledFlow>): string {
  const outgoing = linksOf(flow);
  const incoming = [...flows.values()].filter((other) => other.name !== flow.name).flatMap((other) => linksOf(other).filter((link) => link.to === flow.name));
  const out = ['## 8. Integration with Other Flows'];
  if (outgoing.length === 0 && incoming.length === 0) {
    out.push('This flow stands alone: it has no prerequisites, sub-flows, triggers or recovery flow, and no loaded flow uses it.');
  } else {
    out.push(`This flow integrates with ${new Set([...outgoing.map((l) => l.to), ...incoming.map((l) => l.from)]).size} other flow(s):`);
    out.push([...outgoing.map(describeOutgoing), ...incoming.map(describeIncoming)].join('\n'));
  }
  out.push('### Flow Dependencies');
  out.push(fence('mermaid', dependencyGraph(flow.name, outgoing, incoming)));
  return out.join('\n\n');
}

function link(name: string): string {
  return `**[${name}](${name}.md)**`;
}

function inputNote(input: unknown): string {
  return input === undefined ? '' : ` Input: ${code(expressionText(input))}.`;
}

function describeOutgoing(l: FlowLink): string {
  switch (l.relation) {
    case 'prerequisite':
      if (l.detail !== undefined) {
        return `- ${link(l.to)}: prerequisite — must have succeeded within the last ${l.detail} ms${l.input === undefined ? '' : ` for the correlation key ${code(expressionText(l.input))}`} (not run again); otherwise this flow fails with ${code('FLOWD_ERR_DEPENDENCY_NOT_MET')}. Its output is ${code(`deps.${l.to}`)}.`;
      }
      return `- ${link(l.to)}: prerequisite — runs first; this flow stops if it fails, and its output is ${code(`deps.${l.to}`)}.${inputNote(l.input)}`;
    case 'sub-flow':
      return `- ${link(l.to)}: sub-flow of phase ${code(l.detail ?? '')} — runs inside this execution (child record linked by ${code('parentId')}) under this flow's deadline.${inputNote(l.input)}`;
    case 'trigger':
      return `- ${link(l.to)}: dependent — started asynchronously when this flow ${l.detail === 'completed' ? 'ends, whatever the outcome' : l.detail}; its id is listed in ${code('triggered')}.${inputNote(l.input)}`;
    case 'recovery':
      return `- ${link(l.to)}: recovery flow — runs after a recoverable failure with ${code('{ error, input, phases }')}; its output is answered instead.`;
  }
}

function describeIncoming(l: FlowLink): string {
  switch (l.relation) {
    case 'prerequisite':
      return `- ${link(l.from)}: runs this flow first, as a prerequisite, and reads its output as ${code(`deps.${l.to}`)}.`;
    case 'sub-flow':
      return `- ${link(l.from)}: calls this flow as a sub-flow in phase ${code(l.detail ?? '')}; a failure here fails that phase.`;
    case 'trigger':
      return `- ${link(l.from)}: starts this flow asynchronously when it ${l.detail === 'completed' ? 'ends' : l.detail}.`;
    case 'recovery':
      return `- ${link(l.from)}: uses this flow as its recovery flow; the input is ${code('{ error, input, phases }')} of the failed execution.`;
  }
}

function dependencyGraph(self: string, outgoing: readonly FlowLink[], incoming: readonly FlowLink[]): string {
  const id = (name: string): string => (name === self ? 'self' : `f_${mermaidId(name)}`);
  const lines = ['graph LR', `    self[${mermaidLabel(self)}]:::current`];
  const declared = new Set<string>();
  const node = (name: string): void => {
    if (name === self || declared.has(name)) return;
    declared.add(name);
    lines.push(`    ${id(name)}[${mermaidLabel(name)}]`);
  };
  const edge = (l: FlowLink): void => {
    node(l.from);
    node(l.to);
    const label = l.relation === 'sub-flow' ? `sub-flow: ${l.detail ?? ''}` : l.relation === 'trigger' ? `triggers on ${l.detail ?? 'succeeded'}` : l.relation;
    const arrow = l.relation === 'recovery' || l.relation === 'trigger' ? '-.->' : '-->';
    // Prerequisites point at the flow that waits for them.
    if (l.relation === 'prerequisite') lines.push(`    ${id(l.to)} ${arrow}|${mermaidLabel(label)}| ${id(l.from)}`);
    else lines.push(`    ${id(l.from)} ${arrow}|${mermaidLabel(label)}| ${id(l.to)}`);
  };
  outgoing.forEach(edge);
  incoming.forEach(edge);
  lines.push('    classDef current fill:#dbeafe,stroke:#1d4ed8,stroke-width:2px');
  return lines.join('\n');
}
