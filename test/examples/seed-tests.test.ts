/**
 * The seed's "Key Test Scenarios", in TypeScript with flowd's test kit (src/testing):
 *
 *   async def test_successful_flow_execution(): … assert result.success; assert result.data…;
 *                                                 assert result.execution_time < expected_max_time
 *   async def test_error_recovery():
 *       with mock_component_failure("component1"): result = await flow_manager.execute_flow(…)
 *       assert result.error_handled; assert result.fallback_executed
 *
 * `mockComponentFailure` fails a component's calls through the phase's real retry, timeout,
 * breaker and fallback policies; the run's result exposes `errorHandled`, `fallbackExecuted` and
 * `executionTime`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFlows, mockComponentFailure, mockComponentLatency, type FlowTestKit } from '../../src/testing/index.js';

/** test_flow: component1 answers a profile, with a degraded answer when it cannot. */
const testFlow = {
  name: 'test_flow',
  timeout_ms: 5_000,
  input: { type: 'object', required: ['user_id'], properties: { user_id: { type: 'string' } } },
  components: {
    component1: {
      adapter: 'mock',
      timeout_ms: 100,
      responses: { default: { body: "{% {'user_id': $substringAfter(request.path, '/profiles/'), 'tier': 'gold', 'source': 'live'} %}" } },
    },
  },
  phases: [
    {
      id: 'profile',
      component: 'component1',
      request: { method: 'GET', path: "{% '/profiles/' & input.user_id %}" },
      output: '{% result.body %}',
      on_error: { fallback: "{% {'user_id': input.user_id, 'tier': 'standard', 'source': 'fallback', 'because': error.code} %}" },
    },
    { id: 'greeting', component: 'transform', request: "{% 'Welcome, ' & phases.profile.tier & ' member ' & input.user_id %}" },
  ],
  output: "{% {'profile': phases.profile, 'greeting': phases.greeting} %}",
};

const createTestInput = () => ({ user_id: 'u-1' });

let kit: FlowTestKit;
beforeAll(async () => {
  kit = await loadFlows({ flows: [testFlow], random: () => 0 });
});
afterAll(async () => kit.close());

describe('the seed’s test scenarios', () => {
  it('test_successful_flow_execution', async () => {
    const result = await kit.run('test_flow', createTestInput());

    expect(result.success).toBe(true);
    expect(result.data).toEqual({ profile: { user_id: 'u-1', tier: 'gold', source: 'live' }, greeting: 'Welcome, gold member u-1' });
    expect(result.errorHandled).toBe(false);
    expect(result.fallbackExecuted).toBe(false);
    // execution_time: measured, and bounded by the flow's own 5 s deadline
    expect(result.executionTime).toBeGreaterThan(0);
    expect(result.executionTime).toBeLessThan(testFlow.timeout_ms);
  });

  it('test_error_recovery: component1 fails (503 on every attempt), the flow degrades gracefully', async () => {
    const result = await kit.run('test_flow', createTestInput(), { mocks: [mockComponentFailure('component1')] });

    expect(result.success).toBe(true);
    expect(result.errorHandled).toBe(true);
    expect(result.fallbackExecuted).toBe(true);
    expect(result.data).toMatchObject({ profile: { tier: 'standard', source: 'fallback', because: 'FLOWD_ERR_COMPONENT_FAILED' }, greeting: 'Welcome, standard member u-1' });
    expect(result.phase('profile')).toMatchObject({ fallback: true, attempts: 3 });
    expect(result.calls('component1')).toHaveLength(3);
  });

  it('test_error_recovery with a hanging component: the attempt timeouts fire, then the fallback', async () => {
    const result = await kit.run('test_flow', createTestInput(), { mocks: [mockComponentFailure('component1', { error: 'timeout' })] });

    expect(result.fallbackExecuted).toBe(true);
    expect(result.errorHandled).toBe(true);
    expect(result.data).toMatchObject({ profile: { because: 'FLOWD_ERR_PHASE_TIMEOUT' } });
    // three attempts of at least 100 ms each
    expect(result.executionTime).toBeGreaterThanOrEqual(3 * 100 - 5);
  });

  it('a failure that clears before the retries run out is neither handled nor degraded', async () => {
    const result = await kit.run('test_flow', createTestInput(), { mocks: [mockComponentFailure('component1', { times: 2 })] });

    expect(result.success).toBe(true);
    expect(result.fallbackExecuted).toBe(false);
    expect(result.errorHandled).toBe(false);
    expect(result.phase('profile').attempts).toBe(3);
  });

  it('execution time reflects a slow component', async () => {
    const result = await kit.run('test_flow', createTestInput(), { mocks: [mockComponentLatency('component1', 60)] });

    expect(result.success).toBe(true);
    expect(result.executionTime).toBeGreaterThanOrEqual(55);
  });
});
