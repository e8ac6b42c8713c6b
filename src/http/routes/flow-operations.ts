import type { FastifyPluginAsync } from 'fastify';
import type { AppDeps } from '../app-deps.js';
import { componentRef } from '../record-schemas.js';
import { executeFlow } from './execute.js';

/** Marks the routes whose schemas are plain JSON Schema (the OpenAPI transform passes them through). */
export const FLOW_OPERATION_CONFIG = { flowOperation: true } as const;

/**
 * One documented execute operation per loaded flow, whose request body schema is the flow's input
 * schema, so Swagger UI's "Try it out" runs it with the flow's examples. The record, the problem and
 * the options are references to the shared components. The schemas document the operation;
 * validation is the engine's (one set of rules and error format for every route).
 */
export function flowOperations(deps: AppDeps): FastifyPluginAsync {
  return async (app) => {
    app.setValidatorCompiler(() => () => true);
    app.setSerializerCompiler(() => (data) => JSON.stringify(data));
    for (const flow of deps.flows.values()) {
      app.post(`/flows/${flow.name}/execute`, {
        config: FLOW_OPERATION_CONFIG,
        schema: {
          tags: ['flows: execute'],
          operationId: `execute_${flow.name.replaceAll('-', '_')}`,
          summary: `Execute ${flow.name} (v${flow.version})`,
          description: flow.description,
          body: {
            type: 'object',
            required: ['input'],
            additionalProperties: false,
            properties: { input: flow.inputSchema, options: componentRef('ExecuteOptionsInput') },
          },
          response: {
            200: { description: 'The execution record', ...componentRef('ExecutionRecord') },
            default: { description: 'A problem (RFC 9457)', content: { 'application/problem+json': { schema: componentRef('Problem') } } },
          },
        },
      }, async (request, reply) => executeFlow(deps, flow.name, request, reply));
    }
  };
}
