import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flowDiagram } from '../../src/flows/diagram.js';
import { buildEngine, type BuiltEngine } from '../../src/library.js';

let built: BuiltEngine;
beforeAll(async () => {
  built = await buildEngine({ flowsDir: './flows' });
});
afterAll(async () => built.engine.close());

describe('the Mermaid diagram of a flow', () => {
  it('draws each compensation as a flag on a dashed undo edge from its call, inside the map it belongs to', () => {
    const text = flowDiagram(built.flows.get('order-fulfillment')!);
    const lines = text.split('\n');
    for (const phase of ['reserve_line', 'charge_priority', 'charge']) {
      expect(lines).toContain(`${phase === 'reserve_line' ? '    ' : '  '}p_${phase} -.->|undo| undo_${phase}`);
    }
    expect(text).toContain('undo_charge>"undo charge<br/><small>payments · mock</small>"]');
    // The map's subgraph holds its item phase's compensation.
    const group = lines.slice(lines.indexOf('  subgraph p_reserve_group ["reserve: for each item (≤4 at once)"]'));
    expect(group.slice(0, group.indexOf('  end')).join('\n')).toContain('undo_reserve_line>"undo reserve_line');
    // Calls without compensate have none; the undo edges are the only dashed ones and never lead on.
    expect(text).not.toContain('undo_customer');
    expect(text).not.toContain('undo_ship');
    expect(lines.filter((line) => line.includes('-.->'))).toHaveLength(3);
    expect(lines.filter((line) => /undo_\w+ -->/.test(line))).toEqual([]);
  });

  it('draws no compensation for a flow that declares none', () => {
    expect(flowDiagram(built.flows.get('loyalty-points')!)).not.toContain('undo');
  });
});
