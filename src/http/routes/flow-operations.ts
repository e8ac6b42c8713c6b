import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { AppDeps } from '../app-deps.js';
import { ExecuteOptionsSchema, ExecutionRecordSchema, ProblemSchema } from '../schemas.js';
import { executeFlow } from './execute.js';

const OPTIONS_JSON_SCHEMA = z.toJSONSchema(ExecuteOptionsSchema, { target: 'draft-2020-12' });
const RECORD_JSON_SCHEMA = z.toJSONSchema(ExecutionRecordSchema, { target: 'draft-2020-12', io: 'output' });
const PROBLEM_JSON_SCHEMA = z.toJSONSchema(ProblemSchema, { target: 'draft-2020-12', io: 'output' });

/** Marks the routes whose schemas are plain JSON Schema (the OpenAPI transform passes them through). */
export const FLOW_OPERATION_CONFIG = { flowOperation: true } as const;

/**
 * One documented execute operation per loaded flow, whose request body schema is the flow's input
 * schema, so Swagger UI's "Try it out" runs it with the flow's examples. The schemas document the
 * operation; validation is the engine's (one set of rules and error format for every route).
 */
export function flowOperations(deps: AppDeps): FastifyPluginAsync {
  return async (app) => {
    app.setValidatorCompiler(() => () => true);
    app.setSerializerCompiler(() => (data) => JSON.stringify(data));
    for (const flow of deps.flows.values()) {
      const strip = ({ $schema: _ignored, ...rest }: Record<string, unknown>) => rest;
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
            properties: { input: flow.inputSchema, options: strip(OPTIONS_JSON_SCHEMA) },
          },
          response: {
            200: { description: 'The execution record', ...strip(RECORD_JSON_SCHEMA) },
            default: { description: 'A problem (application/problem+json)', ...strip(PROBLEM_JSON_SCHEMA) },
          },
        },
      }, async (request, reply) => executeFlow(deps, flow.name, request, reply));
    }
  };
}
