/**
 * The seed's "Basic Flow Example" with flowd's library API:
 *
 *   flow_manager = FlowManager(config)
 *   result = await flow_manager.execute_flow(flow_name="example_flow", input_data=request_data)
 *   if result.success: process_success(result.data) else: handle_error(result.error)
 *
 * A "flow manager" is an engine built from flow definitions (in code here; `flowsDir` loads
 * files). `engine.execute` never throws for a flow that fails: the failure is in the returned
 * record. It throws only when nothing ran (unknown flow, invalid input); `executeFlow` below
 * folds both into one `{ success, data | error }` result.
 *
 * Run it: npx tsx examples/basic.ts
 */
import { pathToFileURL } from 'node:url';
import { buildEngine, isFlowdError, type ErrorSummary, type ExecutionRecord, type FlowEngine } from '../src/index.js'; // in your project: from 'flowd'

/** The flow the example runs: look the user up, then process the requested operation. */
export function exampleFlow(users: Record<string, unknown> = defaultUsers): Record<string, unknown> {
  return {
    name: 'example_flow',
    description: 'Look the user up, then process the requested operation with its parameters.',
    input: {
      type: 'object',
      required: ['user_id', 'operation'],
      properties: {
        user_id: { type: 'string' },
        operation: { type: 'string', enum: ['process_request', 'close_account'] },
        parameters: { type: 'object' },
      },
    },
    components: { users },
    phases: [
      {
        id: 'user',
        component: 'users',
        request: { method: 'GET', path: "{% '/users/' & input.user_id %}" },
        output: '{% result.body %}',
      },
      {
        id: 'process',
        component: 'transform',
        request: "{% {'user': phases.user.name, 'operation': input.operation, 'parameters': input.parameters ? input.parameters : {}} %}",
      },
    ],
    output: "{% {'processed': phases.process, 'user_id': input.user_id} %}",
  };
}

/** A stand-in users service, so the example runs with nothing else started. */
const defaultUsers = {
  adapter: 'mock',
  responses: { default: { body: "{% {'id': $substringAfter(request.path, '/users/'), 'name': 'Ada'} %}" } },
};

export type FlowResult =
  | { readonly success: true; readonly data: unknown; readonly record: ExecutionRecord }
  | { readonly success: false; readonly error: ErrorSummary; readonly record: ExecutionRecord | undefined };

/** `execute_flow`: one result shape for success, a failed flow, and a request that could not run. */
export async function executeFlow(engine: FlowEngine, flowName: string, inputData: unknown): Promise<FlowResult> {
  try {
    const record = await engine.execute(flowName, inputData);
    // A recovered execution answered through its recovery flow: the caller got a usable answer.
    if (record.status === 'succeeded' || record.recovered) return { success: true, data: record.output, record };
    return { success: false, error: record.error ?? { code: 'FLOWD_ERR_INTERNAL', message: 'no error recorded' }, record };
  } catch (error) {
    if (!isFlowdError(error)) throw error;
    return { success: false, error: { code: error.code, message: error.message }, record: undefined };
  }
}

export async function main(log: (...args: unknown[]) => void = console.log): Promise<FlowResult> {
  const { engine } = await buildEngine({ flows: [exampleFlow()] });
  try {
    const requestData = { user_id: '12345', operation: 'process_request', parameters: { priority: 'high' } };
    const result = await executeFlow(engine, 'example_flow', requestData);
    if (result.success) log('processed:', JSON.stringify(result.data));
    else log(`failed with ${result.error.code}: ${result.error.message}`);
    return result;
  } finally {
    await engine.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
