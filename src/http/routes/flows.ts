import { validatorCompiler, type FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { FlowNotFoundError } from '../../engine/flow-engine.js';
import type { CompiledFlow } from '../../flows/compiled.js';
import { flowDiagram } from '../../flows/diagram.js';
import type { AppDeps } from '../app-deps.js';
import { ExecutionRecordSchema } from '../record-schemas.js';
import {
  AcceptedSchema,
  ExecuteBodySchema,
  FlowDetailSchema,
  FlowNameParams,
  FlowSummarySchema,
  problemResponses,
} from '../schemas.js';
import { executeFlow } from './execute.js';

export function flowRoutes(deps: AppDeps): FastifyPluginAsyncZod {
  // Everything a flow's GET answers is known at load: build it once.
  const details = new Map([...deps.flows.values()].map((flow) => [flow.name, describeFlow(flow, deps)]));
  const find = (name: string): CompiledFlow => {
    const flow = deps.flows.get(name);
    if (flow === undefined) throw new FlowNotFoundError(name);
    return flow;
  };

  return async (app) => {
    app.get('/flows', {
      schema: { tags: ['flows'], summary: 'List loaded flows', response: { 200: z.object({ flows: z.array(FlowSummarySchema) }) } },
    }, async () => ({
      flows: [...deps.flows.values()].map((flow) => ({ name: flow.name, version: flow.version, description: flow.description })),
    }));

    app.get('/flows/:name', {
      schema: {
        tags: ['flows'],
        summary: 'A flow: definition (without secrets), input schema, examples and a Mermaid diagram',
        params: FlowNameParams,
        response: { 200: FlowDetailSchema, ...problemResponses(400, 404) },
      },
    }, async (request) => {
      find(request.params.name);
      return details.get(request.params.name)!;
    });

    app.get('/flows/:name/diagram', {
      schema: {
        tags: ['flows'],
        summary: 'The flow as Mermaid text',
        params: FlowNameParams,
        produces: ['text/vnd.mermaid'],
        response: { 200: z.string(), ...problemResponses(400, 404) },
      },
    }, async (request, reply) => {
      find(request.params.name);
      return reply.type('text/vnd.mermaid; charset=utf-8').send(details.get(request.params.name)!.diagram);
    });

    app.post('/flows/:name/execute', {
      schema: {
        tags: ['execute'],
        summary: 'Execute any flow by name',
        description:
          'Runs the flow and answers with its execution record. Each loaded flow also has its own documented operation below, with its input schema and examples. ' +
          'Headers: `Prefer: respond-async` (202 + Location at once), `Prefer: wait=N` (202 + Location after N s), `Prefer: return=minimal` (output only), ' +
          '`Idempotency-Key` (same key and input: same execution; 409 while it runs, replay with `Idempotent-Replayed: true` once ended, 422 for another input).',
        params: FlowNameParams,
        body: ExecuteBodySchema,
        response: { 200: ExecutionRecordSchema, 202: AcceptedSchema, ...problemResponses(400, 404, 406, 409, 413, 415, 422, 424, 429, 502, 503, 504) },
      },
      // The body schema documents the route; the handler checks the envelope itself, like each
      // flow's own route does, so both answer a bad body with the same words.
      validatorCompiler: (route) => (route.httpPart === 'body' ? () => true : validatorCompiler(route as unknown as Parameters<typeof validatorCompiler>[0])),
    }, async (request, reply) => executeFlow(deps, request.params.name, request, reply));
  };
}

function describeFlow(flow: CompiledFlow, deps: AppDeps): z.infer<typeof FlowDetailSchema> {
  return deps.secrets.mask({
    name: flow.name,
    version: flow.version,
    description: flow.description,
    source: flow.source,
    inputSchema: flow.inputSchema,
    examples: { ...flow.examples },
    definition: flow.definition,
    components: [...flow.components.values()].map((component) => ({
      name: component.name,
      adapter: component.adapter,
      ...(component.description === undefined ? {} : { description: component.description }),
      target: component.summary['target'],
    })),
    phases: [...flow.phaseIds],
    diagram: flowDiagram(flow),
  });
}
