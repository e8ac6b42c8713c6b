import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { FlowdError } from '../../errors.js';
import { EXECUTION_STATUSES } from '../../engine/record.js';
import { cancelExecution } from '../../executions/execution-cancel.js';
import { callerOf } from '../auth/caller.js';
import type { AppDeps } from '../app-deps.js';
import { ExecutionRecordSchema } from '../record-schemas.js';
import { ExecutionIdParams, problemResponses } from '../schemas.js';

const LogEntrySchema = z.looseObject({ time: z.string(), level: z.string(), msg: z.string() });

function notFound(id: string): FlowdError {
  return new FlowdError('FLOWD_ERR_EXECUTION_NOT_FOUND', `no execution "${id}" (unknown, or expired from the store)`);
}

const ListItemSchema = z.object({
  executionId: z.string(),
  flow: z.string(),
  version: z.string(),
  status: z.enum(EXECUTION_STATUSES),
  startedAt: z.string(),
  finishedAt: z.string().optional(),
  parentId: z.string().optional(),
  correlationKey: z.string().optional(),
  errorCode: z.string().optional(),
  recovered: z.boolean().optional(),
  tenant: z.string().describe('The tenant the execution belongs to: that of the API key that started it (`local` without keys).'),
  stored: z.boolean().describe('false: kept in the memory of the process that ran it only (persistence none); lost on restart'),
});

export function executionRoutes(deps: AppDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/executions', {
      schema: {
        tags: ['executions'],
        summary: 'Recent executions, newest first',
        description:
          "The caller's executions (an operator's: every tenant's, or one tenant's with `tenant`): those in the store, and those this process ran without storing them (`stored: false`, persistence none). " +
          'Paginated by `nextCursor`.',
        querystring: z.object({
          flow: z.string().max(64).optional(),
          status: z.enum(EXECUTION_STATUSES).optional(),
          tenant: z
            .string()
            .max(64)
            .optional()
            .describe("Only this tenant's executions: for operators (`executions:read:all`); any other caller sees only its own tenant's, and nothing for another."),
          limit: z.coerce.number().int().min(1).max(200).default(50),
          cursor: z.string().max(64).optional(),
        }),
        response: { 200: z.object({ items: z.array(ListItemSchema), nextCursor: z.string().optional() }), ...problemResponses(400) },
      },
    }, async (request) => deps.reads.list(request.query, callerOf(request)));

    app.get('/executions/:id', {
      schema: {
        tags: ['executions'],
        summary: 'One execution with its phase-by-phase timeline, each phase with its output and captured calls',
        params: ExecutionIdParams,
        response: { 200: ExecutionRecordSchema, ...problemResponses(400, 404) },
      },
    }, async (request) => {
      const record = await deps.reads.record(request.params.id, callerOf(request));
      if (record === undefined) throw notFound(request.params.id);
      return record;
    });

    app.get('/executions/:id/logs', {
      schema: {
        tags: ['executions'],
        summary: "An execution's structured log entries (JSON array, or NDJSON with Accept: application/x-ndjson)",
        produces: ['application/json', 'application/x-ndjson'],
        params: ExecutionIdParams,
        response: { 200: z.union([z.array(LogEntrySchema), z.string()]), ...problemResponses(400, 404) },
      },
    }, async (request, reply) => {
      const logs = await deps.reads.logs(request.params.id, callerOf(request));
      if (logs === undefined) throw notFound(request.params.id);
      if ((request.headers.accept ?? '').includes('application/x-ndjson')) {
        return reply.type('application/x-ndjson').send(logs.map((entry) => JSON.stringify(entry)).join('\n') + (logs.length > 0 ? '\n' : ''));
      }
      return logs;
    });

    app.post('/executions/:id/cancel', {
      schema: {
        tags: ['executions'],
        summary: 'Cancel a queued or running execution (compensating it when its flow is transactional)',
        description:
          '`cancelled`: it was still queued and will not run. `cancelling`: it is running (here, or on the replica holding its lease, ' +
          'which cancels it within one heartbeat); poll GET /executions/{id} for the final status.',
        params: ExecutionIdParams,
        response: { 202: z.object({ executionId: z.string(), status: z.enum(['cancelling', 'cancelled']) }), ...problemResponses(400, 404, 409) },
      },
    }, async (request, reply) => {
      const { id } = request.params;
      const caller = callerOf(request);
      const outcome = await cancelExecution(deps, id, caller);
      if (outcome === 'cancelling' || outcome === 'cancelled') return reply.code(202).send({ executionId: id, status: outcome });
      if (outcome === 'not_found') throw notFound(id);
      const ended = await deps.reads.record(id, caller, false);
      throw new FlowdError('FLOWD_ERR_EXECUTION_NOT_RETRYABLE', `execution "${id}" already ended (${ended?.status ?? 'ended'})`);
    });
  };
}
