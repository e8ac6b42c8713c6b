import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { FlowdError } from '../../errors.js';
import { FlowNotFoundError } from '../../engine/flow-engine.js';
import { TERMINAL_STATUSES, type ExecutionRecord } from '../../engine/record.js';
import { hasRedactedFields } from '../../observability/sensitive-fields.js';
import { planRetry, type CheckpointSource, type StoredCheckpoints } from '../../retry/plan-retry.js';
import type { AppDeps } from '../app-deps.js';
import { INFLIGHT_RETRY_AFTER_SECONDS, inflightProblem } from '../overload/overload.js';
import { problem, sendProblem } from '../problem.js';
import { ExecutionRecordSchema } from '../record-schemas.js';
import { ExecutionIdParams, problemResponses } from '../schemas.js';
import { sendRecord } from './execute.js';

/** Executions a retry can start from: they ended without success and nothing is left half-undone. */
const RETRYABLE = new Set(['failed', 'compensated', 'timed_out', 'cancelled']);

function notRetryable(message: string): FlowdError {
  return new FlowdError('FLOWD_ERR_EXECUTION_NOT_RETRYABLE', message);
}

/**
 * `POST /executions/{id}/retry`: runs the execution's flow again with the same input, restoring
 * the outputs of the phases it completed (checkpoints) instead of running them, so the work
 * really restarts at the phase that failed. Answers like execute: the new execution's record
 * (`retryOf` names the original) or a problem carrying it.
 */
export function executionRetryRoutes(deps: AppDeps): FastifyPluginAsyncZod {
  const recorder = deps.checkpoints;
  return async (app) => {
    app.post('/executions/:id/retry', {
      config: { auth: { kind: 'execute', target: { executionParam: 'id' } } },
      schema: {
        tags: ['executions'],
        summary: 'Re-run a failed execution from the phase that failed, reusing the outputs of the phases completed before it',
        description:
          'Needs the checkpoints of the original run: the flow (or PERSISTENCE) must keep them (`persistence: failed` or `all`). ' +
          'Phases that were compensated run again. Refused (409) for executions that succeeded, are still running, or whose compensation failed.',
        params: ExecutionIdParams,
        response: { 200: ExecutionRecordSchema, ...problemResponses(400, 404, 409, 422, 429, 502, 503, 504) },
      },
    }, async (request, reply) => {
      const { id } = request.params;
      if (deps.state.shuttingDown) {
        return sendProblem(reply, problem('FLOWD_ERR_SHUTTING_DOWN', 'the service is shutting down; retry on another instance', { instance: request.id }), 5);
      }
      const overloaded = inflightProblem(deps.engine.activeExecutions, deps.config.MAX_INFLIGHT_EXECUTIONS, request.id);
      if (overloaded !== undefined) return sendProblem(reply, overloaded, INFLIGHT_RETRY_AFTER_SECONDS);
      if (deps.engine.getRunning(id) !== undefined) throw notRetryable(`execution "${id}" is still running`);
      const original = deps.durable === undefined ? await deps.store.get(id) : await deps.durable.getRecord(id);
      if (original === undefined) throw new FlowdError('FLOWD_ERR_EXECUTION_NOT_FOUND', `no execution "${id}" (unknown, or expired from the store)`);
      checkRetryable(original);
      const flow = deps.flows.get(original.flow);
      if (flow === undefined) throw new FlowNotFoundError(original.flow);
      if (flow.version !== original.version) {
        throw notRetryable(`execution "${id}" ran version ${original.version} of flow "${flow.name}"; version ${flow.version} is loaded now, so its checkpoints cannot be reused`);
      }
      // The stored input has sensitive fields redacted: rerunning it would send "[REDACTED]" upstream.
      if (hasRedactedFields(original.input)) {
        throw notRetryable(`execution "${id}" had sensitive input fields, which are never stored; execute the flow again with its full input instead`);
      }
      const stored = await readCheckpoints(deps, recorder, id);
      if (stored === undefined) {
        throw notRetryable(
          `no checkpoints were kept for execution "${id}": a retry needs the flow's persistence to be "failed" or "all" (flow key persistence, or PERSISTENCE) when it ran`,
        );
      }
      const plan = planRetry(flow, original, stored);
      request.log.info({ executionId: id, fromPhase: plan.fromPhase, reused: plan.checkpoints.size }, 'retrying execution');
      const started = deps.engine.start(flow.name, original.input, {
        checkpoints: plan.checkpoints,
        compensationRequests: plan.compensationRequests,
        retryOf: id,
        requestId: request.id,
      });
      recorder?.seed?.(started.executionId, plan.checkpoints);
      const record = await started.done;
      void reply.header('location', `/executions/${record.executionId}`);
      return sendRecord(reply, record, request.id, false);
    });
  };
}

function checkRetryable(record: ExecutionRecord): void {
  const id = record.executionId;
  if (record.status === 'succeeded') throw notRetryable(`execution "${id}" succeeded; there is nothing to retry`);
  if (record.status === 'compensation_failed') {
    throw notRetryable(`execution "${id}" ended compensation_failed: some completed phases could not be undone; resolve them before running the order again`);
  }
  if (!TERMINAL_STATUSES.has(record.status) || !RETRYABLE.has(record.status)) throw notRetryable(`execution "${id}" is ${record.status}`);
}

/** The store's checkpoints (executions that ran durably), else those recorded in this process. */
async function readCheckpoints(deps: AppDeps, recorder: CheckpointSource | undefined, id: string): Promise<StoredCheckpoints | undefined> {
  return (await deps.store.getCheckpoints(id)) ?? (await recorder?.getCheckpoints(id));
}
