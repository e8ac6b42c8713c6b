import type { FastifyReply, FastifyRequest } from 'fastify';
import { FlowdError } from '../../errors.js';
import type { ExecutionRecord } from '../../engine/record.js';
import type { AppDeps } from '../app-deps.js';
import { problem, problemForRecord, sendProblem, statusForRecord } from '../problem.js';
import { envelopeProblem } from '../envelope-issues.js';
import { ExecuteBodySchema } from '../schemas.js';
import { INFLIGHT_RETRY_AFTER_SECONDS, inflightProblem } from '../overload/overload.js';
import { parseTraceparent } from '../../observability/trace-context.js';
import { executeDurably } from './durable-execute.js';

/**
 * Runs a flow for `POST /flows/{name}/execute` (the generic route and each flow's own route).
 * The envelope is validated here whatever the content type said (SECURITY rule 5).
 */
export async function executeFlow(deps: AppDeps, name: string, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  if (deps.state.shuttingDown) {
    return sendProblem(reply, problem('FLOWD_ERR_SHUTTING_DOWN', 'the service is shutting down; retry on another instance', { instance: request.id }), 5);
  }
  // Checked and started in the same tick (no await in between), so a burst cannot overshoot the bound.
  const overloaded = inflightProblem(deps.engine.activeExecutions, deps.config.MAX_INFLIGHT_EXECUTIONS, request.id);
  if (overloaded !== undefined) return sendProblem(reply, overloaded, INFLIGHT_RETRY_AFTER_SECONDS);
  const parsed = parseExecuteEnvelope(request.body);
  if (!parsed.success) {
    const { detail, issues } = envelopeProblem(request.body, parsed.error.issues);
    return sendProblem(reply, problem('FLOWD_ERR_REQUEST_INVALID', detail, { instance: request.id, issues }));
  }
  const { input, options = {} } = parsed.data;
  const traceparent = request.headers['traceparent'];
  const validTraceparent = parseTraceparent(traceparent) === undefined ? undefined : (traceparent as string);
  // Async, Prefer: wait, Idempotency-Key and the persistence policy (README, Durability).
  if (deps.durable !== undefined) return executeDurably(deps, deps.durable, name, input, options, validTraceparent, request, reply);
  const record = await deps.engine.execute(name, input, {
    timeoutMs: options.timeoutMs,
    enableCaching: options.enableCaching,
    parallelExecution: options.parallelExecution,
    requestId: request.id,
    traceparent: validTraceparent,
  });
  return sendRecord(reply, record, request.id, preferMinimal(request));
}

export function sendRecord(reply: FastifyReply, record: ExecutionRecord, instance: string, minimal: boolean): FastifyReply {
  if (record.status === 'succeeded' || record.recovered) {
    if (minimal) {
      void reply.header('preference-applied', 'return=minimal');
      return reply.code(200).send(record.output ?? null);
    }
    return reply.code(200).send(record);
  }
  const body = problemForRecord(record, instance);
  const retryAfter = record.error?.code === 'FLOWD_ERR_CIRCUIT_OPEN' || record.error?.code === 'FLOWD_ERR_BULKHEAD_FULL' ? record.error.retryAfterSeconds ?? 1 : undefined;
  return sendProblem(reply, { ...body, status: statusForRecord(record) }, retryAfter);
}

type Envelope = ReturnType<typeof ExecuteBodySchema.safeParse>;

/**
 * The envelope, checked by ExecuteBodySchema. A body that is exactly `{"input": …}` (the usual
 * one) is valid whatever the input, so it is taken as is without running the schema; every other
 * body goes through the schema, which words the issues.
 */
export function parseExecuteEnvelope(body: unknown): Envelope {
  if (isPlainObject(body)) {
    const keys = Object.keys(body);
    if (keys.length === 1 && keys[0] === 'input') return { success: true, data: { input: body['input'] } };
  }
  return ExecuteBodySchema.safeParse(body);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

function preferMinimal(request: FastifyRequest): boolean {
  const prefer = request.headers['prefer'];
  return typeof prefer === 'string' && /(^|[,;\s])return=minimal($|[,;\s])/.test(prefer);
}

export function isFlowdError(error: unknown): error is FlowdError {
  return error instanceof FlowdError;
}
