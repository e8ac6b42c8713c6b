import path from 'node:path';
import type { FastifySchemaCompiler } from 'fastify';
import { validatorCompiler, type FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { findFlow } from '../../executions/execution-service.js';
import type { CompiledFlow } from '../../flows/compiled.js';
import { flowDiagram } from '../../flows/diagram.js';
import { viewSchedules } from '../../schedules/scheduler.js';
import type { AppDeps } from '../app-deps.js';
import { ExecutionRecordSchema } from '../record-schemas.js';
import {
  AcceptedSchema,
  ExecuteBodySchema,
  FlowDetailSchema,
  FlowNameParams,
  FlowSummarySchema,
  FlowVersionParams,
  problemResponses,
} from '../schemas.js';
import { executeFlow } from './execute.js';

export function flowRoutes(deps: AppDeps): FastifyPluginAsyncZod {
  // What a definition's GET answers is known once it is compiled: built once per definition.
  const details = new WeakMap<CompiledFlow, DefinitionDetail>();
  const detailOf = (flow: CompiledFlow): Omit<z.infer<typeof FlowDetailSchema>, 'schedules'> => {
    let detail = details.get(flow);
    if (detail === undefined) details.set(flow, (detail = describeFlow(flow, deps)));
    const current = deps.flows.get(flow.name);
    const versions = deps.flows.versionsOf(flow.name).map((version) => ({
      version: version.version,
      current: version === current,
      hash: version.hash,
      source: fileName(version.source),
      description: version.description,
    }));
    return { ...detail, current: flow === current, versions };
  };
  const find = (name: string, version?: string): CompiledFlow => findFlow(deps.flows, name, version);
  const withSchedules = async (flow: CompiledFlow): Promise<z.infer<typeof FlowDetailSchema>> => ({
    ...detailOf(flow),
    schedules: deps.schedules === undefined ? viewSchedules(flow, [], Date.now()) : await deps.schedules(flow),
  });
  const executeSchema = {
    body: ExecuteBodySchema,
    response: { 200: ExecutionRecordSchema, 202: AcceptedSchema, ...problemResponses(400, 404, 406, 409, 413, 415, 422, 424, 429, 502, 503, 504) },
  };
  // The body schema documents the route; the handler checks the envelope itself, so every
  // execute route answers a bad body with the same words.
  const envelopeInHandler: FastifySchemaCompiler<unknown> = (route) =>
    route.httpPart === 'body' ? () => true : validatorCompiler(route as unknown as Parameters<typeof validatorCompiler>[0]);
  // Answers are records built by flowd, or only an output (`Prefer: return=minimal`): serialised as
  // they are (the response schemas document them; checking each record against them costs per request).
  const asIs = (): ((data: unknown) => string) => (data) => JSON.stringify(data);
  const headers =
    'Headers: `Prefer: respond-async` (202 + Location at once), `Prefer: wait=N` (202 + Location after N s), `Prefer: return=minimal` (output only), ' +
    '`Idempotency-Key` (same key and input: same execution; 409 while it runs, replay with `Idempotent-Replayed: true` once ended, 422 for another input).';

  return async (app) => {
    app.get('/flows', {
      schema: { tags: ['flows'], summary: 'List loaded flows', response: { 200: z.object({ flows: z.array(FlowSummarySchema) }) } },
    }, async () => ({
      flows: [...deps.flows.values()].map((flow) => ({
        name: flow.name,
        version: flow.version,
        description: flow.description,
        versions: deps.flows.versionsOf(flow.name).map((version) => version.version),
      })),
    }));

    app.get('/flows/:name', {
      schema: {
        tags: ['flows'],
        summary: 'A flow (its current version): definition (without secrets), input schema, examples, a Mermaid diagram, and every loaded version',
        params: FlowNameParams,
        response: { 200: FlowDetailSchema, ...problemResponses(400, 404) },
      },
    }, async (request) => withSchedules(find(request.params.name)));

    app.get('/flows/:name/versions/:version', {
      schema: {
        tags: ['flows'],
        summary: 'One loaded version of a flow, as GET /flows/{name} shows the current one',
        params: FlowVersionParams,
        response: { 200: FlowDetailSchema, ...problemResponses(400, 404) },
      },
    }, async (request) => withSchedules(find(request.params.name, request.params.version)));

    app.get('/flows/:name/diagram', {
      schema: {
        tags: ['flows'],
        summary: 'The flow as Mermaid text',
        params: FlowNameParams,
        produces: ['text/vnd.mermaid'],
        response: { 200: z.string(), ...problemResponses(400, 404) },
      },
    }, async (request, reply) => reply.type('text/vnd.mermaid; charset=utf-8').send(detailOf(find(request.params.name)).diagram));

    app.post('/flows/:name/execute', {
      schema: {
        tags: ['execute'],
        summary: 'Execute any flow by name (its current version)',
        description: `Runs the current version of the flow and answers with its execution record. Each loaded flow also has its own documented operation, with its input schema and examples. ${headers}`,
        params: FlowNameParams,
        ...executeSchema,
      },
      validatorCompiler: envelopeInHandler,
      serializerCompiler: asIs,
    }, async (request, reply) => executeFlow(deps, request.params.name, request, reply));

    app.post('/flows/:name/versions/:version/execute', {
      schema: {
        tags: ['execute'],
        summary: 'Execute one loaded version of a flow',
        description: `Runs the version named (one of those GET /flows/{name} lists), whichever version is current. ${headers}`,
        params: FlowVersionParams,
        ...executeSchema,
      },
      validatorCompiler: envelopeInHandler,
      serializerCompiler: asIs,
    }, async (request, reply) => executeFlow(deps, request.params.name, request, reply, request.params.version));
  };
}

/** The flow file's name in FLOWS_DIR: where the server keeps it is not the caller's business. */
function fileName(source: string): string {
  return path.basename(source);
}

type DefinitionDetail = Omit<z.infer<typeof FlowDetailSchema>, 'current' | 'versions' | 'schedules'>;

function describeFlow(flow: CompiledFlow, deps: AppDeps): DefinitionDetail {
  return deps.secrets.mask({
    name: flow.name,
    version: flow.version,
    hash: flow.hash,
    description: flow.description,
    source: fileName(flow.source),
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
