import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ReloadResult } from '../../flows/flow-reloader.js';
import { reloadProblems } from '../../observability/reload-report.js';
import type { AppDeps } from '../app-deps.js';
import { problem, sendProblem } from '../problem.js';
import { problemResponses } from '../schemas.js';

const ReloadSchema = z
  .object({
    outcome: z.enum(['applied', 'unchanged', 'rejected']).describe('rejected: some file has a problem; the flows loaded before keep serving.'),
    trigger: z.enum(['start', 'api', 'signal', 'watch']),
    at: z.string().describe('When it ended (ISO 8601).'),
    generation: z.number().int().min(1).describe('The catalog generation serving after it (increases with every applied change).'),
    changes: z.array(z.object({ flow: z.string(), version: z.string(), change: z.enum(['added', 'changed', 'removed', 'unchanged']) })),
    problems: z.array(z.string()).describe('Why it was rejected: one line per problem, `file: path: message`.'),
  })
  .describe('The result of one reload of the flows.');

const CatalogSchema = z.object({
  generation: z.number().int().min(1),
  watching: z.boolean().describe('Whether the flows directory is watched (FLOWS_WATCH, or `flowd dev`).'),
  lastReload: ReloadSchema,
});

function describeReload(result: ReloadResult): z.infer<typeof ReloadSchema> {
  return {
    outcome: result.outcome,
    trigger: result.trigger,
    at: new Date(result.at).toISOString(),
    generation: result.generation,
    changes: [...result.changes],
    problems: reloadProblems(result),
  };
}

/**
 * The flow catalog: `GET /catalog` (the generation serving and the last reload, rejected ones
 * with every problem), `POST /catalog/reload` (scope `flows:deploy`): reads and validates the
 * flows directory as a whole and swaps it in, or answers 422 with every problem while the last
 * good set keeps serving.
 */
export function catalogRoutes(deps: AppDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/catalog', {
      schema: { tags: ['catalog'], summary: 'The flow set serving: its generation and the last reload (with every problem when it was rejected)', response: { 200: CatalogSchema } },
    }, async () => ({
      generation: deps.flows.generation,
      watching: deps.config.FLOWS_WATCH,
      lastReload: describeReload(deps.reloader.last),
    }));

    app.post('/catalog/reload', {
      schema: {
        tags: ['catalog'],
        summary: 'Reload the flows directory now',
        description:
          'Reads and compiles every flow file again. When all of them are valid, the new set replaces the loaded one at once (executions in flight finish on the definition they started with) and the answer lists what changed; ' +
          'when any file has a problem, nothing changes and the answer is 422 with every problem (`issues`, also in `GET /catalog`). The same as SIGHUP.',
        response: { 200: ReloadSchema, ...problemResponses(422) },
      },
    }, async (request, reply) => {
      const result = await deps.reloader.reload('api');
      if (result.outcome !== 'rejected') return describeReload(result);
      const problems = reloadProblems(result);
      return sendProblem(
        reply,
        problem('FLOWD_ERR_FLOWS_INVALID', `${problems.length} problem${problems.length === 1 ? '' : 's'} in the flow files; the flows loaded before keep serving`, {
          instance: request.id,
          issues: result.issues.map((issue) => ({ path: [issue.file, issue.path].filter((part) => part !== undefined && part !== '').join(': '), message: issue.message })),
        }),
      );
    });
  };
}
