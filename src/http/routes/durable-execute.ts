import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { Durable } from '../../durable/durable.js';
import { parseIdempotencyKey } from '../../durable/idempotency.js';
import { FlowNotFoundError } from '../../engine/flow-engine.js';
import { TERMINAL_STATUSES, type ExecutionRecord, type ExecutionStatus } from '../../engine/record.js';
import type { StoredOptions } from '../../store/execution-store.js';
import type { AppDeps } from '../app-deps.js';
import { parsePrefer, preferenceApplied, type Preferences } from '../prefer.js';
import { problem, sendProblem } from '../problem.js';
import type { ExecuteOptionsSchema } from '../schemas.js';
import { sendRecord } from './execute.js';

type ExecuteOptions = z.infer<typeof ExecuteOptionsSchema>;

/**
 * Execute with the durable layer:
 *
 * - `Prefer: respond-async` → the execution is written to the queue and the answer is `202` with
 *   `Location: /executions/{id}` and `{ executionId, status: "queued" }`; any replica's worker runs it.
 * - `Prefer: wait=N` → runs now (durably), and answers `202` + Location if it has not ended after N s.
 * - `Idempotency-Key` → same key and same request: the same execution, never a second run. While
 *   it runs, a sync caller gets `409` + Retry-After (it does not wait); an async caller gets its `202`
 *   again. Once ended, the result is replayed with `Idempotent-Replayed: true`. Same key with another
 *   request: `422 FLOWD_ERR_IDEMPOTENCY_KEY_REUSED`.
 * - otherwise the flow's persistence policy decides: `all` runs durably (row first, checkpoints,
 *   lease); `none`/`failed` run in memory and keep the record at the end as the policy says.
 */
export async function executeDurably(
  deps: AppDeps,
  durable: Durable,
  name: string,
  input: unknown,
  options: ExecuteOptions,
  traceparent: string | undefined,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const prefer = parsePrefer(request.headers['prefer']);
  const idempotencyKey = parseIdempotencyKey(request.headers['idempotency-key']);
  const flow = deps.flows.get(name);
  if (flow === undefined) throw new FlowNotFoundError(name);
  if (options.callbackUrl !== undefined) {
    const refused =
      !prefer.respondAsync && prefer.waitSeconds === undefined
        ? 'callbackUrl is for async executions: send it with Prefer: respond-async (or wait=N)'
        : durable.callbacks.refuse(options.callbackUrl);
    if (refused !== undefined) return sendProblem(reply, problem('FLOWD_ERR_REQUEST_INVALID', refused, { instance: request.id }));
  }
  const stored: StoredOptions = {
    timeoutMs: options.timeoutMs,
    enableCaching: options.enableCaching,
    parallelExecution: options.parallelExecution,
    requestId: request.id,
    traceparent,
    callbackUrl: options.callbackUrl,
    correlationKey: options.correlationKey,
  };
  const queueOnly = prefer.respondAsync && prefer.waitSeconds === undefined;
  const runDurably = queueOnly || prefer.respondAsync || prefer.waitSeconds !== undefined || idempotencyKey !== undefined || durable.persistenceOf(flow) === 'all';

  let executionId: string;
  let done: Promise<ExecutionRecord>;
  if (runDurably) {
    const result = await durable.submit({ flow: name, input, options: stored, mode: queueOnly ? 'async' : 'run', idempotencyKey });
    if (result.kind === 'existing') return replay(durable, result.executionId, prefer, request, reply);
    if (result.kind === 'queued') return accepted(reply, result.executionId, 'queued', { respondAsync: true });
    executionId = result.executionId;
    done = result.done;
  } else {
    const started = deps.engine.start(name, input, {
      timeoutMs: options.timeoutMs,
      enableCaching: options.enableCaching,
      parallelExecution: options.parallelExecution,
      requestId: request.id,
      traceparent,
      correlationKey: options.correlationKey,
    });
    executionId = started.executionId;
    done = started.done;
  }
  const record = prefer.waitSeconds === undefined ? await done : await within(done, prefer.waitSeconds * 1000);
  if (record === undefined || !TERMINAL_STATUSES.has(record.status)) {
    // Still running after `wait`, or this replica lost the lease and another one carries on.
    return accepted(reply, executionId, record?.status ?? 'running', { respondAsync: prefer.respondAsync, waitSeconds: prefer.waitSeconds });
  }
  return sendRecord(reply, record, request.id, prefer.minimal);
}

async function replay(durable: Durable, executionId: string, prefer: Preferences, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  void reply.header('idempotent-replayed', 'true');
  const record = await durable.getRecord(executionId);
  if (prefer.respondAsync) return accepted(reply, executionId, record?.status ?? 'queued', { respondAsync: true });
  if (record === undefined || !TERMINAL_STATUSES.has(record.status)) {
    void reply.header('location', `/executions/${executionId}`);
    return sendProblem(
      reply,
      problem(
        'FLOWD_ERR_IDEMPOTENCY_IN_PROGRESS',
        `the execution of this Idempotency-Key (${executionId}) is still ${record?.status ?? 'running'}; retry after a while, or follow the Location`,
        { instance: request.id },
      ),
      1,
    );
  }
  return sendRecord(reply, record, request.id, prefer.minimal);
}

function accepted(
  reply: FastifyReply,
  executionId: string,
  status: ExecutionStatus,
  applied: { respondAsync?: boolean; waitSeconds?: number | undefined },
): FastifyReply {
  void reply.header('location', `/executions/${executionId}`);
  const preference = preferenceApplied(applied);
  if (preference !== undefined) void reply.header('preference-applied', preference);
  return reply.code(202).send({ executionId, status });
}

/** The record if `done` settles within `ms`, else undefined (the execution goes on). */
async function within(done: Promise<ExecutionRecord>, ms: number): Promise<ExecutionRecord | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([done, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
