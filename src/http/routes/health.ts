import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { unavailableComponents } from '../../flows/component-readiness.js';
import type { AppDeps } from '../app-deps.js';
import { problem, sendProblem } from '../problem.js';
import { problemResponses } from '../schemas.js';

const HealthSchema = z.object({ status: z.enum(['ok', 'ready']), flows: z.number().int().min(0).optional() });

export function healthRoutes(deps: AppDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/health/live', {
      schema: { tags: ['health'], summary: 'Liveness: answers while the process runs', response: { 200: HealthSchema } },
    }, async () => ({ status: 'ok' as const }));

    app.get('/health/ready', {
      schema: {
        tags: ['health'],
        summary: 'Readiness: flows loaded, not shutting down, and every required component reachable',
        response: { 200: HealthSchema, ...problemResponses(503) },
      },
    }, async (_request, reply) => {
      if (!deps.state.ready || deps.state.shuttingDown) {
        return sendProblem(reply, problem(deps.state.shuttingDown ? 'FLOWD_ERR_SHUTTING_DOWN' : 'FLOWD_ERR_OVERLOADED', deps.state.shuttingDown ? 'shutting down' : 'not ready yet'), 5);
      }
      const unavailable = await unavailableComponents(deps.flows.values());
      if (unavailable.length > 0) {
        return sendProblem(reply, problem('FLOWD_ERR_COMPONENT_UNAVAILABLE', `required components cannot serve calls: ${unavailable.join(', ')}`), 5);
      }
      return { status: 'ready' as const, flows: deps.flows.size };
    });
  };
}
