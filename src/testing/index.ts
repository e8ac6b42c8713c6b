/**
 * flowd's test kit for flow authors (`import … from 'flowd/testing'`): load flows, replace their
 * components with mocks, run them in-process and assert on the result. Framework-agnostic: it
 * imports no test runner, so it works with vitest, node:test or jest alike.
 */
export { loadFlows, type FlowTestKit, type LoadFlowsOptions, type RunOptions } from './flow-test-kit.js';
export { FlowTestResult, type ComponentCall } from './flow-test-result.js';
export {
  mockComponent,
  mockComponentFailure,
  mockComponentLatency,
  type ComponentMock,
  type FailureOptions,
  type CallSite,
  type MockCall,
  type MockHandler,
  type MockResponse,
  type MockScope,
  type MockSpec,
} from './mocks.js';
export type { ExecutionRecord, PhaseRecord, CompensationRecord, ErrorSummary, ExecutionStatus } from '../engine/record.js';
