import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppDeps } from '../app-deps.js';
import { callerOf } from '../auth/caller.js';
import { problem, sendProblem } from '../problem.js';
import { ExecutionRecordSchema } from '../record-schemas.js';
import { AcceptedSchema, ExecutionIdParams, problemResponses } from '../schemas.js';
import { sendAccepted, sendJournal } from './execute.js';

/**
 * `POST /executions/{id}/retry`: runs the execution's flow again with the same input, restoring
 * the outputs of the phases it completed instead of running them, so the work really restarts at
 * the phase that failed. Answers like execute: the new execution's record (`retryOf` names the
 * original) or a problem carrying it; 202 with its `waiting` when the new execution waits (a
 * signal, a callback, a time: it was stored and goes on later, like an execution that waits), or
 * with `running` when it goes on on another replica.
 */
export function executionRetryRoutes(deps: AppDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.post('/executions/:id/retry', {
      config: { auth: { kind: 'execute', target: { executionParam: 'id' } } },
      schema: {
        tags: ['executions'],
        summary: 'Re-run a failed execution from the phase that failed, reusing the outputs of the phases completed before it',
        description:
          'Works for executions this process still holds in memory and for stored ones whose values were kept (executions that did not succeed). ' +
          'Phases that were compensated run again. Refused (409) for executions that succeeded, are still running, or whose compensation failed. ' +
          'When the new execution reaches a wait, it is stored and the answer is 202 with its id, status `waiting` and what it waits for; ' +
          '202 with status `running` when it goes on elsewhere (this replica lost its lease or is stopping).',
        params: ExecutionIdParams,
        response: { 200: ExecutionRecordSchema, 202: AcceptedSchema, ...problemResponses(400, 404, 409, 422, 429, 502, 503, 504) },
      },
    }, async (request, reply) => {
      if (deps.state.shuttingDown) {
        return sendProblem(reply, problem('FLOWD_ERR_SHUTTING_DOWN', 'the service is shutting down; retry on another instance', { instance: request.id }), 5);
      }
      const { outcome, fromPhase, reused } = await deps.executions.retry(request.params.id, callerOf(request), request.id);
      request.log.info({ executionId: request.params.id, fromPhase, reused }, 'retried execution');
      // Not ended here: it waits (stored, goes on later), or this replica lost its lease or is stopping.
      if (outcome.kind === 'accepted') return sendAccepted(reply, outcome.executionId, outcome.status, outcome.waiting);
      void reply.header('location', `/executions/${outcome.journal.executionId}`);
      return sendJournal(deps, reply, outcome.journal, request.id, false);
    });
  };
}
