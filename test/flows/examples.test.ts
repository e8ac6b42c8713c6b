import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEngine, type BuiltEngine } from '../../src/library.js';

let built: BuiltEngine;
beforeAll(async () => {
  built = await buildEngine({ flowsDir: './flows' });
});
afterAll(async () => built.engine.close());

describe('the example flows in flows/', () => {
  it('ships at least three flows, each with examples', () => {
    expect(built.flows.size).toBeGreaterThanOrEqual(3);
    for (const flow of built.flows.values()) expect(Object.keys(flow.examples).length, flow.name).toBeGreaterThan(0);
  });

  it('every example of every flow executes successfully with nothing else running', async () => {
    const results: string[] = [];
    for (const flow of built.flows.values()) {
      // A flow that waits stops at its wait: its examples run in test/waits/test-kit-waits.test.ts (signals, fake clock).
      if (flow.waits.durable) continue;
      for (const [name, input] of Object.entries(flow.examples)) {
        const record = await built.engine.execute(flow.name, input);
        results.push(`${flow.name}/${name}: ${record.status}${record.error === undefined ? '' : ` ${record.error.message}`}`);
      }
    }
    expect(results.filter((line) => !line.endsWith(': succeeded'))).toEqual([]);
  });

  it('the order flow uses a decision, a parallel block, a map and a sub-flow', async () => {
    const record = await built.engine.execute('order-fulfillment', built.flows.get('order-fulfillment')!.examples['two-lines']);
    const kinds = new Set(record.phases.map((phase) => phase.kind));
    expect(kinds).toEqual(new Set(['call', 'map', 'decision', 'parallel', 'subflow']));
    expect(record.output).toMatchObject({ reservations: ['res-A-1', 'res-B-7'], tier: 'standard', loyalty_points: 20 });
  });
});
