import type { CallPhase, CompiledFlow } from '../flows/compiled.js';
import { code, duration, expressionText, fence, mermaidText, yamlOf } from './markdown.js';
import { isExternal, listPhases, type PhaseEntry } from './phase-walk.js';
import { retryText } from './policy-text.js';

/** Section 4 of the flow document: one subsection per phase, nested phases included. */
export function detailedSteps(flow: CompiledFlow): string {
  const parts: string[] = ['## 4. Detailed Steps'];
  for (const entry of listPhases(flow)) parts.push(phaseSection(flow, entry));
  parts.push(resultSection(flow));
  return parts.join('\n\n');
}

function phaseSection(flow: CompiledFlow, entry: PhaseEntry): string {
  const { phase } = entry;
  const out: string[] = [`### Phase ${entry.number}: ${phase.id}`];
  const where = entry.placement === undefined ? '' : ` (${entry.placement})`;
  out.push(`**What happens:** ${phase.description ?? defaultDescription(entry)}${where}`);
  out.push('**Components responsible:**');
  out.push(responsibilities(flow, entry).map((line) => `- ${line}`).join('\n'));

  const mappings = mappingsOf(entry);
  if (mappings.length > 0) {
    out.push('**Key data transformations** (as written in the flow file):');
    out.push(fence('yaml', yamlOf(Object.fromEntries(mappings))));
    const notes = mappingNotes(entry);
    if (notes.length > 0) out.push(notes.map((line) => `- ${line}`).join('\n'));
  }
  if (phase.kind === 'call' && isExternal(phase.component)) {
    out.push('**Flow sequence:**');
    out.push(fence('mermaid', sequenceDiagram(flow, phase)));
  }
  return out.join('\n\n');
}

function defaultDescription(entry: PhaseEntry): string {
  const { phase } = entry;
  switch (phase.kind) {
    case 'call':
      return `Calls the ${code(phase.component.name)} component and keeps its answer as ${code(`phases.${phase.id}`)}.`;
    case 'decision':
      return `Chooses one of ${phase.branches.length} branches; the first whose condition holds runs.`;
    case 'parallel':
      return `Runs ${phase.branches.length} branches concurrently and joins them before the next phase.`;
    case 'map':
      return `Runs its phases once for every item of ${code(expressionText(phase.items.source))}.`;
    case 'subflow':
      return `Runs the flow ${code(phase.flow)} as a sub-flow and waits for its output.`;
    case 'wait':
      return phase.signal === undefined
        ? `Waits ${phase.durationMs === undefined ? `until ${code(expressionText(phase.until?.source ?? ''))}` : `for ${duration(phase.durationMs)}`}, then goes on.`
        : `Waits for the signal ${code(phase.signal)} (at most ${duration(phase.timeoutMs ?? 0)}); its payload becomes ${code(`phases.${phase.id}`)}.`;
  }
}

function responsibilities(flow: CompiledFlow, entry: PhaseEntry): string[] {
  const { phase } = entry;
  switch (phase.kind) {
    case 'call': {
      const component = phase.component;
      const target = component.summary['target'];
      const facts = [`${code(component.adapter)} adapter`, ...(typeof target === 'string' ? [target] : [])].join(', ');
      if (!isExternal(component)) {
        const role = component.adapter === 'transform' ? 'returns the evaluated request: a pure data transformation, in-process' : `runs in-process (${code(component.adapter)})`;
        return [`**${component.name}** (${facts}): ${component.description ?? role}.`, `**flowd engine**: evaluates the request mapping; nothing leaves the process.`];
      }
      const lines = [`**${component.name}** (${facts}): ${component.description ?? 'answers the request built from the mapping below.'}`];
      if (phase.compensate !== undefined) {
        lines.push(`**${phase.compensate.component.name}** (compensation): undoes this phase when a later phase fails${flow.transactional ? '' : ' — only in transactional flows; this flow is not transactional, so it never runs'}.`);
      }
      lines.push(`**flowd engine**: builds the request, applies ${retryText(phase.retry)}; ${duration(phase.attemptTimeoutMs)} per attempt.`);
      return lines;
    }
    case 'decision':
      return [
        `**flowd engine**: evaluates the conditions in order: ${phase.branches
          .map((branch) => (branch.when === undefined ? `otherwise → ${code(branch.label)}` : `${code(expressionText(branch.when.source))} → ${code(branch.label)}`))
          .join('; ')}.${phase.branches.some((b) => b.when === undefined) ? '' : ' When none holds, no branch runs.'}`,
        ...phase.branches
          .filter((branch) => branch.goto !== undefined)
          .map((branch) => `**flowd engine**: branch ${code(branch.label)} then jumps back to ${code(branch.goto!)} (at most ${branch.maxIterations ?? 'unbounded'} times).`),
      ];
    case 'parallel':
      return [
        `**flowd engine**: starts the branches ${phase.branches.map((b) => code(b.name)).join(', ')} at once; the first failure cancels the others. The output is an object with one key per branch.`,
      ];
    case 'map':
      return [
        `**flowd engine**: evaluates ${code(expressionText(phase.items.source))}, then runs ${phase.phases.map((p) => code(p.id)).join(', ')} for each item, at most ${phase.concurrency} at once and at most ${phase.maxItems} items; the output is the list of item results, in item order.`,
      ];
    case 'subflow':
      return [`**[${phase.flow}](${phase.flow}.md)** (sub-flow): runs with its own phases and policies under this flow's deadline; its output becomes ${code(`phases.${phase.id}`)}.`];
    case 'wait':
      return [
        phase.signal === undefined
          ? `**flowd engine**: waits; a durable execution releases its worker while it waits and any replica resumes it when it is due (docs/waits.md).`
          : `**flowd engine**: waits for ${code(`POST /executions/{id}/signals/${phase.signal}`)}${phase.check === undefined ? '' : ' (payload checked against the schema below)'}; after ${duration(phase.timeoutMs ?? 0)} it ${phase.onTimeout.kind === 'fail' ? `fails with ${code('FLOWD_ERR_SIGNAL_TIMEOUT')}` : 'goes on with the on_timeout output'}.`,
      ];
  }
}

/** The keys of a phase definition that map data, in the order they apply. */
function mappingsOf(entry: PhaseEntry): [string, unknown][] {
  const keys = ['request', 'input', 'output', 'cache', 'on_error', 'compensate', 'callback', 'wait'];
  const definition = entry.definition;
  if (entry.phase.kind === 'map') {
    const map = definition['map'] as Record<string, unknown> | undefined;
    const picked: [string, unknown][] = [];
    if (map !== undefined) {
      const ids = ((map['phases'] as { id?: unknown }[] | undefined) ?? []).map((phase) => phase.id);
      const { phases: _phases, ...settings } = map;
      picked.push(['map', { ...settings, phases: ids }]);
    }
    return picked;
  }
  if (entry.phase.kind === 'decision') {
    const branches = (definition['decision'] as Record<string, unknown>[] | undefined) ?? [];
    return branches.length > 0 ? [['decision', branches.map(summariseBranch)]] : [];
  }
  return keys.filter((key) => definition[key] !== undefined).map((key) => [key, definition[key]]);
}

function mappingNotes(entry: PhaseEntry): string[] {
  const { phase } = entry;
  const notes: string[] = [];
  if (phase.kind === 'map') {
    notes.push(`Inside the map, expressions see ${code('item')} (the current element) and ${code('index')}.`);
    return notes;
  }
  if (phase.kind === 'decision') {
    notes.push(`The phase output is ${code('{ branch, output }')}: the label of the branch taken and the output of its last phase.`);
    return notes;
  }
  if (phase.kind === 'call') {
    notes.push(
      phase.output === undefined
        ? `No output mapping: ${code(`phases.${phase.id}`)} is the adapter result${phase.component.adapter === 'transform' ? ' (the evaluated request itself)' : ` (${code('{ status, headers, body }')})`}.`
        : `The output mapping sees ${code('result')} (the adapter result) and ${code('request')}; its value is ${code(`phases.${phase.id}`)}.`,
    );
    if (phase.cache !== undefined) notes.push(`Cached for ${duration(phase.cache.ttlMs)}, keyed by ${phase.cache.key === undefined ? 'the evaluated request' : code(expressionText((entry.definition['cache'] as { key?: unknown } | undefined)?.key))}.`);
    if (phase.fallback !== undefined) notes.push(`When the call still fails after its retries, the fallback value (which sees ${code('error')}) becomes the output and the execution is marked ${code('fallbackExecuted')}.`);
    if (phase.compensate !== undefined) notes.push(`The compensation request sees ${code('output')} (this phase's output) and ${code('request')} (what was sent).`);
  }
  if (phase.kind === 'subflow') {
    notes.push(phase.input === undefined ? `No input mapping: the sub-flow receives this flow's input.` : `The input mapping builds the sub-flow's input; its output mapping (if any) sees ${code('result')}.`);
  }
  return notes;
}

function summariseBranch(branch: Record<string, unknown>): Record<string, unknown> {
  const phases = (branch['phases'] ?? branch['otherwise']) as { id?: unknown }[] | undefined;
  const ids = (phases ?? []).map((phase) => phase.id);
  return {
    ...('when' in branch ? { when: branch['when'] } : { otherwise: true }),
    ...(branch['label'] === undefined ? {} : { label: branch['label'] }),
    phases: ids,
    ...(branch['goto'] === undefined ? {} : { goto: branch['goto'], max_iterations: branch['max_iterations'] }),
  };
}

/** What is sent, in one line: `POST /charges` or the path expression. */
export function requestLine(request: unknown): string {
  if (typeof request === 'object' && request !== null && !Array.isArray(request)) {
    const { method, path } = request as { method?: unknown; path?: unknown };
    if (method !== undefined || path !== undefined) {
      return `${typeof method === 'string' ? method : 'GET'} ${path === undefined ? '/' : expressionText(path)}`;
    }
  }
  return `request ${expressionText(request)}`;
}

function sequenceDiagram(flow: CompiledFlow, phase: CallPhase): string {
  const definition = listPhases(flow).find((entry) => entry.phase === phase)?.definition ?? {};
  const component = phase.component;
  const lines = [
    'sequenceDiagram',
    `    participant E as flowd (${mermaidText(flow.name)})`,
    `    participant C as ${mermaidText(component.name)} (${mermaidText(component.adapter)})`,
  ];
  const undo = phase.compensate !== undefined && flow.transactional ? phase.compensate.component : undefined;
  if (undo !== undefined && undo !== component) lines.push(`    participant K as ${mermaidText(undo.name)} (${mermaidText(undo.adapter)})`);
  if (phase.cache !== undefined) {
    lines.push(`    Note over E: cache lookup, ${mermaidText(duration(phase.cache.ttlMs))} TTL: a hit skips the call`);
  }
  lines.push(`    E->>C: ${mermaidText(requestLine(definition['request']))}`);
  lines.push(`    C-->>E: ${component.adapter === 'http' || component.adapter === 'mock' ? 'status, headers, body' : 'result'}`);
  if (phase.retry.maxAttempts > 1) {
    lines.push(`    Note over E,C: ${mermaidText(`up to ${phase.retry.maxAttempts} attempts of ${duration(phase.attemptTimeoutMs)} each`)}`);
  }
  if (phase.fallback !== undefined) {
    lines.push('    alt every attempt failed');
    lines.push(`        E->>E: fallback ${mermaidText(expressionText(definition['on_error'] === undefined ? '' : (definition['on_error'] as Record<string, unknown>)['fallback']))}`);
    lines.push('    end');
  }
  if (phase.output !== undefined) lines.push(`    E->>E: output ${mermaidText(expressionText(definition['output']))}`);
  if (undo !== undefined) {
    const compensation = definition['compensate'] as Record<string, unknown> | undefined;
    lines.push('    opt a later phase fails');
    lines.push(`        E->>${undo === component ? 'C' : 'K'}: compensate ${mermaidText(requestLine(compensation?.['request']))}`);
    lines.push('    end');
  }
  return lines.join('\n');
}

function resultSection(flow: CompiledFlow): string {
  const output = flow.definition.output;
  const body =
    output === undefined
      ? `No ${code('output')} mapping: the execution's output is the output of the last phase.`
      : `The execution's output, built when every phase has completed:\n\n${fence('yaml', yamlOf({ output }))}`;
  return `### Result\n\n${body}`;
}
