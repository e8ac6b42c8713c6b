import type { CompiledFlow, CompiledPhase } from './compiled.js';

/**
 * Mermaid `graph TD` of a flow: call phases as boxes, decisions as diamonds with labelled paths,
 * parallel blocks as fork/join, maps and sub-flows as subroutine shapes; a call phase that declares
 * `compensate` has a dashed `undo` edge to a flag-shaped node for its compensation. Node ids are the
 * phase ids (prefixed: `p_` phases, `undo_` compensations), so the console can colour a node by the
 * phase's outcome and a compensation's node when it ran.
 */
export function flowDiagram(flow: CompiledFlow): string {
  const lines: string[] = ['graph TD', '  start((Start))'];
  const end = 'finish((End))';
  const tails = drawList(flow.phases, ['start'], lines, '  ');
  for (const tail of tails) lines.push(`  ${tail.node} -->${tail.label === undefined ? '' : `|${escapeLabel(tail.label)}|`} ${end}`);
  if (tails.length === 0) lines.push(`  start --> ${end}`);
  return `${lines.join('\n')}\n`;
}

export function nodeId(phaseId: string): string {
  return `p_${phaseId}`;
}

/** The node of a call phase's compensation (`compensate`). */
export function undoNodeId(phaseId: string): string {
  return `undo_${phaseId}`;
}

function componentLabel(component: { readonly name: string; readonly adapter: string }): string {
  // The component and, when its name does not say it, its adapter kind (sql, redis, http, …).
  return component.name === component.adapter ? component.name : `${component.name} · ${component.adapter}`;
}

interface Tail {
  node: string;
  label?: string | undefined;
}

function drawList(phases: readonly CompiledPhase[], entry: readonly string[] | readonly Tail[], lines: string[], indent: string): Tail[] {
  let tails: Tail[] = entry.map((item) => (typeof item === 'string' ? { node: item } : item));
  for (const phase of phases) tails = drawPhase(phase, tails, lines, indent);
  return tails;
}

function connect(tails: readonly Tail[], target: string, lines: string[], indent: string): void {
  for (const tail of tails) lines.push(`${indent}${tail.node} -->${tail.label === undefined ? '' : `|${escapeLabel(tail.label)}|`} ${target}`);
}

function drawPhase(phase: CompiledPhase, tails: readonly Tail[], lines: string[], indent: string): Tail[] {
  const id = nodeId(phase.id);
  switch (phase.kind) {
    case 'call': {
      const label = componentLabel(phase.component) + (phase.callback === undefined ? '' : ' · waits for callback');
      lines.push(`${indent}${id}["${escapeLabel(phase.id)}<br/><small>${escapeLabel(label)}</small>"]`);
      connect(tails, id, lines, indent);
      if (phase.compensate !== undefined) {
        // Runs only when a later phase fails: a dashed edge aside, not a step of the flow.
        const undo = undoNodeId(phase.id);
        lines.push(`${indent}${undo}>"undo ${escapeLabel(phase.id)}<br/><small>${escapeLabel(componentLabel(phase.compensate.component))}</small>"]`);
        lines.push(`${indent}${id} -.->|undo| ${undo}`);
      }
      return [{ node: id }];
    }
    case 'wait': {
      // A wait is a hexagon: the run stops there until the time, the signal or the timeout.
      lines.push(`${indent}${id}{{"${escapeLabel(phase.id)}<br/><small>${escapeLabel(waitLabel(phase))}</small>"}}`);
      connect(tails, id, lines, indent);
      return [{ node: id }];
    }
    case 'subflow': {
      lines.push(`${indent}${id}[["${escapeLabel(phase.id)}<br/><small>flow: ${escapeLabel(phase.flow)}</small>"]]`);
      connect(tails, id, lines, indent);
      return [{ node: id }];
    }
    case 'decision': {
      lines.push(`${indent}${id}{"${escapeLabel(phase.id)}"}`);
      connect(tails, id, lines, indent);
      const out: Tail[] = [];
      let hasDefault = false;
      for (const branch of phase.branches) {
        if (branch.when === undefined) hasDefault = true;
        const label = branch.label;
        if (branch.phases.length === 0) {
          out.push({ node: id, label });
          continue;
        }
        const branchTails = drawList(branch.phases, [{ node: id, label }], lines, indent);
        if (branch.goto !== undefined) {
          connect(branchTails.map((t) => ({ ...t, label: `loop${branch.maxIterations === undefined ? '' : ` ≤${branch.maxIterations}`}` })), nodeId(branch.goto), lines, indent);
        } else {
          out.push(...branchTails);
        }
      }
      if (!hasDefault) out.push({ node: id, label: 'otherwise' });
      return out;
    }
    case 'parallel': {
      const fork = `${id}_fork`;
      const join = `${id}_join`;
      lines.push(`${indent}${fork}[/"${escapeLabel(phase.id)}: parallel"/]`);
      connect(tails, fork, lines, indent);
      lines.push(`${indent}${join}[\\"join"\\]`);
      for (const branch of phase.branches) {
        const branchTails = drawList(branch.phases, [{ node: fork, label: branch.name }], lines, indent);
        connect(branchTails, join, lines, indent);
      }
      return [{ node: join }];
    }
    case 'map': {
      lines.push(`${indent}subgraph ${id}_group ["${escapeLabel(phase.id)}: for each item (≤${phase.concurrency} at once)"]`);
      lines.push(`${indent}  ${id}(("each"))`);
      const inner = drawList(phase.phases, [id], lines, `${indent}  `);
      lines.push(`${indent}end`);
      connect(tails, id, lines, indent);
      return inner;
    }
  }
}

/** `waits for signal approval (≤ 3d)`, `waits 10m`, `waits until a time`. */
export function waitLabel(phase: Extract<CompiledPhase, { kind: 'wait' }>): string {
  if (phase.signal !== undefined) return `waits for signal ${phase.signal} (≤ ${humanMs(phase.timeoutMs ?? 0)})`;
  return phase.durationMs === undefined ? 'waits until a time' : `waits ${humanMs(phase.durationMs)}`;
}

function humanMs(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms} ms`;
}

function escapeLabel(text: string): string {
  return text.replace(/["<>]/g, (c) => ({ '"': '#quot;', '<': '#lt;', '>': '#gt;' })[c] ?? c).replace(/[\r\n]+/g, ' ');
}
