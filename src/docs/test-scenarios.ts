import { childLists, walkPhases } from '../flows/phase-tree.js';
import type { CallPhase, CompiledFlow } from '../flows/compiled.js';
import type { ExecutionStatus } from '../engine/record.js';
import { isExternal, listPhases } from './phase-walk.js';

/**
 * Test scenarios derived from a flow's definition: the "Testing" section of its document shows
 * them as vitest code using the test kit, and flowd's own tests run them against the example flows.
 */
export interface TestScenario {
  readonly title: string;
  /** The example to run; undefined when the flow has none. */
  readonly example: string | undefined;
  readonly failure: { readonly component: string; readonly phase: string; readonly status: number } | undefined;
  readonly expect: {
    readonly success?: boolean;
    readonly status?: ExecutionStatus;
    readonly errorHandled?: boolean;
    readonly fallbackExecuted?: boolean;
    readonly errorCode?: string;
    readonly errorPhase?: string;
    /** Attempts of the failing phase, when no circuit breaker can cut them short. */
    readonly attempts?: { readonly phase: string; readonly count: number };
    /** The run stops at a wait for this signal (a flow that waits: the test then sends it, see docs/waits.md). */
    readonly waitsFor?: string;
    /** The execution must end within the flow's deadline. */
    readonly withinMs?: number;
  };
}

export function planTestScenarios(flow: CompiledFlow): TestScenario[] {
  const example = Object.keys(flow.examples)[0];
  const firstWait = flow.phases.find((phase) => phase.kind === 'wait' && phase.signal !== undefined);
  const scenarios: TestScenario[] = [
    firstWait?.kind === 'wait'
      ? {
          title: `runs the ${example ?? 'valid'} ${example === undefined ? 'input' : 'example'} up to its wait for signal ${firstWait.signal!}`,
          example,
          failure: undefined,
          expect: { status: 'waiting', waitsFor: firstWait.signal! },
        }
      : {
          title: example === undefined ? 'runs with a valid input' : `runs the ${example} example`,
          example,
          failure: undefined,
          expect: { success: true, withinMs: flow.timeoutMs },
        },
  ];
  const conditional = phasesUnderDecisions(flow);
  // Unconditional external call phases, in the order they run.
  const candidates = listPhases(flow)
    .map((entry) => entry.phase)
    .filter((phase): phase is CallPhase => phase.kind === 'call' && isExternal(phase.component) && !conditional.has(phase.id));

  const withFallback = candidates.find((phase) => phase.fallback !== undefined);
  if (withFallback !== undefined) {
    scenarios.push({
      title: `falls back when ${withFallback.component.name} fails in ${withFallback.id}`,
      example,
      failure: { component: withFallback.component.name, phase: withFallback.id, status: 503 },
      expect: { errorHandled: true, fallbackExecuted: true, ...attemptsOf(withFallback) },
    });
  }

  const compensable = new Set(candidates.filter((phase) => phase.compensate !== undefined).map((phase) => phase.id));
  const order = candidates.map((phase) => phase.id);
  const undoTarget = [...candidates].reverse().find((phase) => phase.fallback === undefined && phase.compensate === undefined && order.slice(0, order.indexOf(phase.id)).some((id) => compensable.has(id)));
  if (flow.transactional && undoTarget !== undefined) {
    scenarios.push({
      title: `undoes completed phases when ${undoTarget.component.name} fails in ${undoTarget.id}`,
      example,
      failure: { component: undoTarget.component.name, phase: undoTarget.id, status: 503 },
      expect: { success: false, status: 'compensated', errorHandled: true, errorPhase: undoTarget.id, ...attemptsOf(undoTarget) },
    });
  } else {
    const failing = candidates.find((phase) => phase.fallback === undefined);
    if (failing !== undefined) {
      scenarios.push({
        title: `reports a failure of ${failing.component.name} in ${failing.id}`,
        example,
        failure: { component: failing.component.name, phase: failing.id, status: 503 },
        expect: {
          success: false,
          errorCode: 'FLOWD_ERR_COMPONENT_FAILED',
          errorPhase: failing.id,
          ...(flow.recovery === undefined ? { errorHandled: false } : {}),
          ...attemptsOf(failing),
        },
      });
    }
  }
  return scenarios;
}

function attemptsOf(phase: CallPhase): { attempts?: { phase: string; count: number } } {
  if (phase.component.breaker !== undefined) return {};
  const retried = phase.retry.retryOn.has('5xx');
  return { attempts: { phase: phase.id, count: retried ? phase.retry.maxAttempts : 1 } };
}

function phasesUnderDecisions(flow: CompiledFlow): Set<string> {
  const ids = new Set<string>();
  walkPhases(flow.phases, (phase) => {
    if (phase.kind === 'decision') for (const list of childLists(phase)) walkPhases(list.phases, (inner) => ids.add(inner.id));
  });
  return ids;
}

/** The scenarios as a vitest file that uses only `flowd/testing`. */
export function scenariosAsVitest(flow: CompiledFlow, scenarios: readonly TestScenario[], flowsDir = 'flows'): string {
  const usesFailure = scenarios.some((scenario) => scenario.failure !== undefined);
  const lines = [
    `import { afterAll, beforeAll, describe, expect, it } from 'vitest';`,
    `import { loadFlows, ${usesFailure ? 'mockComponentFailure, ' : ''}type FlowTestKit } from 'flowd/testing';`,
    '',
    `describe('${flow.name}', () => {`,
    '  let kit: FlowTestKit;',
    `  beforeAll(async () => {`,
    `    kit = await loadFlows({ flowsDir: '${flowsDir}' });`,
    '  });',
    '  afterAll(() => kit.close());',
  ];
  for (const scenario of scenarios) {
    lines.push('', `  it('${scenario.title.replace(/'/g, "\\'")}', async () => {`);
    const mocks = scenario.failure === undefined ? '' : `, {\n      mocks: [mockComponentFailure('${scenario.failure.component}', { status: ${scenario.failure.status}, phase: '${scenario.failure.phase}' })],\n    }`;
    lines.push(
      scenario.example === undefined
        ? `    const result = await kit.run('${flow.name}', { /* an input that matches the schema */ }${mocks});`
        : `    const result = await kit.runExample('${flow.name}', '${scenario.example}'${mocks});`,
    );
    const e = scenario.expect;
    if (e.success !== undefined) lines.push(`    expect(result.success).toBe(${e.success});`);
    if (e.status !== undefined) lines.push(`    expect(result.status).toBe('${e.status}');`);
    if (e.errorHandled !== undefined) lines.push(`    expect(result.errorHandled).toBe(${e.errorHandled});`);
    if (e.fallbackExecuted !== undefined) lines.push(`    expect(result.fallbackExecuted).toBe(${e.fallbackExecuted});`);
    if (e.errorCode !== undefined) lines.push(`    expect(result.error?.code).toBe('${e.errorCode}');`);
    if (e.errorPhase !== undefined) lines.push(`    expect(result.error?.phase).toBe('${e.errorPhase}');`);
    if (e.attempts !== undefined) lines.push(`    expect(result.phase('${e.attempts.phase}').attempts).toBe(${e.attempts.count});`);
    if (e.waitsFor !== undefined) lines.push(`    expect(result.waiting?.signal).toBe('${e.waitsFor}'); // then: kit.signal(result.executionId, '${e.waitsFor}', payload)`);
    if (e.withinMs !== undefined) lines.push(`    expect(result.executionTime).toBeLessThan(${e.withinMs});`);
    lines.push('  });');
  }
  lines.push('});');
  return lines.join('\n');
}
