import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planTestScenarios, type TestScenario } from '../../src/docs/test-scenarios.js';
import { loadFlows, mockComponentFailure, type FlowTestKit } from '../../src/testing/index.js';

/**
 * Every flow document's "Key Test Scenarios" is code generated from planTestScenarios. Running
 * the same scenarios here, through the test kit, proves the code the documents show passes.
 */
describe('test scenarios shown in the example flows’ documents', async () => {
  let kit: FlowTestKit;
  const planning = await loadFlows({ flowsDir: 'flows' });
  const cases: [string, TestScenario][] = [...planning.flows.values()].flatMap((flow) => planTestScenarios(flow).map((scenario): [string, TestScenario] => [flow.name, scenario]));
  await planning.close();

  beforeAll(async () => {
    kit = await loadFlows({ flowsDir: 'flows' });
  });
  afterAll(() => kit.close());

  it('covers a success, and a failure scenario wherever a flow calls an external system', () => {
    const byFlow = new Map<string, string[]>();
    for (const [flow, scenario] of cases) byFlow.set(flow, [...(byFlow.get(flow) ?? []), scenario.title]);
    expect(byFlow.get('order-fulfillment')).toEqual([
      'runs the two-lines example',
      'falls back when customers fails in customer',
      'undoes completed phases when shipping fails in ship',
    ]);
    expect(byFlow.get('shipping-quote')).toEqual(['runs the parcel example', 'falls back when rates fails in quote']);
    expect(byFlow.get('user-onboarding')).toEqual(['runs the personal example', 'reports a failure of crm in crm_contact']);
    expect(byFlow.get('loyalty-points')).toEqual(['runs the three-lines example']);
  });

  it.each(cases)('%s: %o', async (flow, scenario) => {
    const failure = scenario.failure;
    const mocks = failure === undefined ? [] : [mockComponentFailure(failure.component, { status: failure.status, phase: failure.phase })];
    const result = await kit.runExample(flow, scenario.example!, { mocks });
    const e = scenario.expect;
    const context = String(result);
    if (e.success !== undefined) expect(result.success, context).toBe(e.success);
    if (e.status !== undefined) expect(result.status, context).toBe(e.status);
    if (e.errorHandled !== undefined) expect(result.errorHandled, context).toBe(e.errorHandled);
    if (e.fallbackExecuted !== undefined) expect(result.fallbackExecuted, context).toBe(e.fallbackExecuted);
    if (e.errorCode !== undefined) expect(result.error?.code, context).toBe(e.errorCode);
    if (e.errorPhase !== undefined) expect(result.error?.phase, context).toBe(e.errorPhase);
    if (e.attempts !== undefined) expect(result.phase(e.attempts.phase).attempts, context).toBe(e.attempts.count);
    if (e.waitsFor !== undefined) expect(result.waiting?.signal, context).toBe(e.waitsFor);
    if (e.withinMs !== undefined) expect(result.executionTime).toBeLessThan(e.withinMs);
  });
});
