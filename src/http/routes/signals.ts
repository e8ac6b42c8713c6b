import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { sendSignal, useCallback } from '../../executions/execution-signals.js';
import { SIGNAL_NAME_PATTERN } from '../../flows/wait-schema.js';
import { callerOf } from '../auth/caller.js';
import type { AppDeps } from '../app-deps.js';
import { ExecutionIdParams, problemResponses } from '../schemas.js';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** Signals to waiting executions and callback tokens (docs/waits.md). */
export function signalRoutes(deps: AppDeps): FastifyPluginAsyncZod {
  const signalDeps = {
    store: deps.store,
    reads: deps.reads,
    flows: deps.flows,
    wake: () => deps.durable.queue.wake(),
    maxPending: deps.config.SIGNAL_MAX_PENDING,
    maxBytes: deps.config.SIGNAL_MAX_BYTES,
  };
  return async (app) => {
    app.post('/executions/:id/signals/:name', {
      schema: {
        tags: ['executions'],
        summary: 'Send a signal to an execution (an approval, a decision, an event it waits for)',
        description:
          'The signal must be one the execution\'s flow waits for (a `wait: { signal }` phase), with a payload its schema accepts. ' +
          'It is kept until the wait takes it — also when it arrives before the execution reaches the wait. ' +
          'Deliveries with the same `Idempotency-Key` count once. An execution that has ended answers 409.',
        params: ExecutionIdParams.extend({ name: z.string().regex(SIGNAL_NAME_PATTERN, 'must match ^[A-Za-z_][A-Za-z0-9_.-]{0,63}$') }),
        headers: z.looseObject({ 'idempotency-key': z.string().regex(IDEMPOTENCY_KEY, 'must be 1–255 visible ASCII characters').optional() }),
        body: z.object({ payload: z.unknown().optional().describe('The signal\'s JSON payload (checked against the wait\'s schema).') }).strict(),
        response: {
          202: z.object({ executionId: z.string(), signal: z.string(), delivery: z.enum(['delivered', 'duplicate']) }),
          ...problemResponses(400, 404, 409, 413, 422),
        },
      },
    }, async (request, reply) => {
      const { id, name } = request.params;
      const answer = await sendSignal(signalDeps, id, name, request.body.payload ?? null, callerOf(request), request.headers['idempotency-key']);
      void reply.header('location', `/executions/${id}`);
      return reply.code(202).send(answer);
    });

    app.post('/callbacks/:token', {
      schema: {
        tags: ['executions'],
        summary: 'Answer a callback (task token) an execution waits for',
        description:
          'The token, given to the called system in the request of a call phase with `callback` (as `callback.token` or `callback.url`), is the credential: ' +
          'no API key is needed. It works once and until the wait\'s timeout. `succeeded` gives the phase its `output` (checked against the callback\'s schema); ' +
          '`failed` fails the phase with FLOWD_ERR_CALLBACK_FAILED.',
        params: z.object({ token: z.string().regex(/^[A-Za-z0-9_-]{16,128}$/, 'is not a callback token') }),
        body: z.discriminatedUnion('status', [
          z.object({ status: z.literal('succeeded'), output: z.unknown().optional() }).strict(),
          z.object({ status: z.literal('failed'), error: z.object({ message: z.string().max(2000), code: z.string().max(100).optional() }).strict() }).strict(),
        ]),
        response: { 202: z.object({ executionId: z.string(), status: z.literal('delivered') }), ...problemResponses(400, 404, 409, 410, 413, 422) },
      },
    }, async (request, reply) => {
      const answer = await useCallback(signalDeps, request.params.token, request.body);
      return reply.code(202).send({ executionId: answer.executionId, status: 'delivered' as const });
    });
  };
}
