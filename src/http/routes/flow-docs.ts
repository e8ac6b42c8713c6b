import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { EnvConfig } from '../../config/env.js';
import { renderFlowDocument } from '../../docs/flow-document.js';
import { findFlow } from '../../executions/execution-service.js';
import { readFlowFigures } from '../../observability/flow-figures.js';
import type { AppDeps } from '../app-deps.js';
import { FlowNameParams, problemResponses } from '../schemas.js';

/** `GET /flows/{name}/doc`: the flow's document, dated today, with this process's live figures. */
export function flowDocRoutes(deps: AppDeps): FastifyPluginAsyncZod {
  const baseUrl = serviceUrl(deps.config);
  return async (app) => {
    app.get('/flows/:name/doc', {
      config: { auth: { kind: 'scope', scope: 'flows:read' } },
      schema: {
        tags: ['flows'],
        summary: "The flow's document (Markdown): overview, components, diagram, steps, error handling, live performance, examples, integration, testing",
        params: FlowNameParams,
        produces: ['text/markdown'],
        response: { 200: z.string(), ...problemResponses(400, 404) },
      },
    }, async (request, reply) => {
      const flow = findFlow(deps.flows, request.params.name, undefined);
      const document = renderFlowDocument(flow, {
        flows: deps.flows.current(),
        date: new Date().toISOString().slice(0, 10),
        figures: await readFlowFigures(deps.metrics, flow.name),
        live: true,
        baseUrl,
        secrets: deps.secrets,
      });
      return reply.type('text/markdown; charset=utf-8').send(document);
    });
  };
}

/** Where examples in live documents send requests: this service, as a local caller reaches it. */
function serviceUrl(config: EnvConfig): string {
  const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? '127.0.0.1' : config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST;
  return `http://${host}:${config.PORT}`;
}
