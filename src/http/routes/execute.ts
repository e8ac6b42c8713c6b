import type { FastifyReply, FastifyRequest } from 'fastify';
import { recordView } from '../../engine/journal/record-view.js';
import type { Journal } from '../../engine/journal/journal.js';
import type { ExecutionRecord, ExecutionStatus, WaitingRecord } from '../../engine/record.js';
import { parseIdempotencyKey } from '../../durable/idempotency.js';
import type { RunOutcome } from '../../executions/execution-service.js';
import { parseTraceparent } from '../../observability/trace-context.js';
import type { AppDeps } from '../app-deps.js';
import { callerOf } from '../auth/caller.js';
import { parsePrefer, preferenceApplied, type Preferences } from '../prefer.js';
import { problem, problemForRecord, sendProblem, statusForRecord } from '../problem.js';
import { envelopeProblem } from '../envelope-issues.js';
import { ExecuteBodySchema } from '../schemas.js';

/**
 * `POST /flows/{name}/execute` and `POST /flows/{name}/versions/{version}/execute`: reads the envelope
 * (validated here whatever the content type said: SECURITY rule 5), the `Prefer` and
 * `Idempotency-Key` headers, asks the execution service to run it, and answers its outcome:
 *
 * - ended: `200` with the record (the output only with `Prefer: return=minimal`), or a problem
 *   carrying the record;
 * - `Prefer: respond-async` → `202` + `Location: /executions/{id}` at once (any replica's worker
 *   runs it); `Prefer: wait=N` → the answer if it ends within N s, else `202` + Location;
 * - an `Idempotency-Key` naming an ended execution of the same request → its answer again with
 *   `Idempotent-Replayed: true`; one still running → `409` + Retry-After (`202` for async callers).
 */
export async function executeFlow(deps: AppDeps, name: string, request: FastifyRequest, reply: FastifyReply, version?: string): Promise<FastifyReply> {
  if (deps.state.shuttingDown) {
    return sendProblem(reply, problem('FLOWD_ERR_SHUTTING_DOWN', 'the service is shutting down; retry on another instance', { instance: request.id }), 5);
  }
  const parsed = parseExecuteEnvelope(request.body);
  if (!parsed.success) {
    const { detail, issues } = envelopeProblem(request.body, parsed.error.issues);
    return sendProblem(reply, problem('FLOWD_ERR_REQUEST_INVALID', detail, { instance: request.id, issues }));
  }
  const { input, options = {} } = parsed.data;
  const prefer = hasAsyncHeaders(request) ? parsePrefer(request.headers['prefer']) : preferMinimalOnly(request);
  const idempotencyKey = parseIdempotencyKey(request.headers['idempotency-key']);
  if (options.callbackUrl !== undefined) {
    const refused =
      !prefer.respondAsync && prefer.waitSeconds === undefined
        ? 'callbackUrl is for async executions: send it with Prefer: respond-async (or wait=N)'
        : deps.durable.writer.callbacks.refuse(options.callbackUrl);
    if (refused !== undefined) return sendProblem(reply, problem('FLOWD_ERR_REQUEST_INVALID', refused, { instance: request.id }));
  }
  const traceparent = request.headers['traceparent'];
  const outcome = await deps.executions.run({
    flow: name,
    version,
    input,
    options,
    requestId: request.id,
    traceparent: parseTraceparent(traceparent) === undefined ? undefined : (traceparent as string),
    caller: callerOf(request),
    respondAsync: prefer.respondAsync,
    waitMs: prefer.waitSeconds === undefined ? undefined : prefer.waitSeconds * 1000,
    idempotencyKey,
  });
  return sendOutcome(deps, reply, outcome, request.id, prefer);
}

function sendOutcome(deps: AppDeps, reply: FastifyReply, outcome: RunOutcome, instance: string, prefer: Preferences): FastifyReply {
  switch (outcome.kind) {
    case 'ended':
      return sendJournal(deps, reply, outcome.journal, instance, prefer.minimal);
    case 'accepted':
      return accepted(reply, outcome.executionId, outcome.status, prefer, outcome.waiting);
    case 'replayed':
      void reply.header('idempotent-replayed', 'true');
      if (prefer.respondAsync) return accepted(reply, outcome.record.executionId, outcome.record.status, prefer);
      return sendRecord(reply, outcome.record, instance, prefer.minimal);
    case 'in_progress':
      void reply.header('idempotent-replayed', 'true');
      if (prefer.respondAsync) return accepted(reply, outcome.executionId, outcome.status, prefer);
      void reply.header('location', `/executions/${outcome.executionId}`);
      return sendProblem(
        reply,
        problem(
          'FLOWD_ERR_IDEMPOTENCY_IN_PROGRESS',
          `the execution of this Idempotency-Key (${outcome.executionId}) is still ${outcome.status}; retry after a while, or follow the Location`,
          { instance },
        ),
        1,
      );
  }
}

/** The answer to the caller who ran it: the record as everyone sees it, with the output it asked for. */
export function sendJournal(deps: AppDeps, reply: FastifyReply, journal: Journal, instance: string, minimal: boolean): FastifyReply {
  // A succeeded execution's minimal answer is its output: no record to build.
  const finished = minimal ? journal.finished : undefined;
  if (finished?.status === 'succeeded') return sendMinimal(reply, finished.output);
  return sendRecord(reply, recordView(journal.entries, { clean: deps.clean, rawOutput: true }), instance, minimal);
}

export function sendRecord(reply: FastifyReply, record: ExecutionRecord, instance: string, minimal: boolean): FastifyReply {
  if (record.status === 'succeeded' || record.recovered) {
    if (minimal) return sendMinimal(reply, record.output);
    return reply.code(200).send(record);
  }
  const body = problemForRecord(record, instance);
  const retryAfter = record.error?.code === 'FLOWD_ERR_CIRCUIT_OPEN' || record.error?.code === 'FLOWD_ERR_BULKHEAD_FULL' ? (record.error.retryAfterSeconds ?? 1) : undefined;
  return sendProblem(reply, { ...body, status: statusForRecord(record) }, retryAfter);
}

function sendMinimal(reply: FastifyReply, output: unknown): FastifyReply {
  void reply.header('preference-applied', 'return=minimal');
  return reply.code(200).send(output ?? null);
}

function accepted(reply: FastifyReply, executionId: string, status: ExecutionStatus, prefer: Preferences, waiting?: WaitingRecord): FastifyReply {
  const preference = preferenceApplied({ respondAsync: prefer.respondAsync, waitSeconds: prefer.waitSeconds });
  if (preference !== undefined) void reply.header('preference-applied', preference);
  return sendAccepted(reply, executionId, status, waiting);
}

/** `202` + `Location` for an execution that has not ended (queued, running, waiting). */
export function sendAccepted(reply: FastifyReply, executionId: string, status: ExecutionStatus, waiting?: WaitingRecord): FastifyReply {
  void reply.header('location', `/executions/${executionId}`);
  return reply.code(202).send(waiting === undefined ? { executionId, status } : { executionId, status, waiting });
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

/** Whether the request asks for more than the plain sync answer (most do not: no Prefer parsing then). */
function hasAsyncHeaders(request: FastifyRequest): boolean {
  const prefer = request.headers['prefer'];
  return prefer !== undefined && !(typeof prefer === 'string' && /^\s*return=minimal\s*$/.test(prefer));
}

function preferMinimalOnly(request: FastifyRequest): Preferences {
  return { respondAsync: false, waitSeconds: undefined, minimal: request.headers['prefer'] !== undefined };
}
