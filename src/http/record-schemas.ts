import { z } from 'zod';
import { ERROR_CODES } from '../errors.js';
import { EXECUTION_STATUSES, type ErrorSummary } from '../engine/record.js';

/**
 * The shared response shapes of the API. Each is a named component of the OpenAPI document
 * (`#/components/schemas/<id>`) that every operation references, so a change to the execution
 * record is made here once and every response, client and validator sees it.
 */
export const COMPONENT_IDS = {
  errorCode: 'ErrorCode',
  errorSummary: 'ErrorSummary',
  phaseRecord: 'PhaseRecord',
  compensationRecord: 'CompensationRecord',
  callRecord: 'CallRecord',
  executionRecord: 'ExecutionRecord',
  issue: 'Issue',
  problem: 'Problem',
  executeOptions: 'ExecuteOptions',
  accepted: 'Accepted',
} as const;

/**
 * A `$ref` to a component, for routes documented with plain JSON Schema. Schemas used in requests
 * are published with an `Input` suffix (fastify-type-provider-zod's input registry).
 */
export function componentRef(id: (typeof COMPONENT_IDS)[keyof typeof COMPONENT_IDS] | `${(typeof COMPONENT_IDS)[keyof typeof COMPONENT_IDS]}Input`): { $ref: string } {
  return { $ref: `#/components/schemas/${id}` };
}

// Realistic bounds and examples, so generated samples (Swagger UI) look like real answers.
const EXAMPLE_ID = '0193a2b4-6c1d-7e2f-8a9b-0c1d2e3f4a5b';
const EXAMPLE_TIME = '2026-11-25T20:33:19.609Z';
const attempts = z.number().int().min(0).meta({ examples: [1] });
const durationMs = z.number().min(0).meta({ examples: [41.2] });
const timestamp = z.string().meta({ format: 'date-time', examples: [EXAMPLE_TIME] });
const itemIndex = z.number().int().min(0).max(1_000_000);
const executionId = z.string().meta({ examples: [EXAMPLE_ID] });

export const ErrorCodeSchema = z
  .enum(Object.keys(ERROR_CODES) as [keyof typeof ERROR_CODES, ...(keyof typeof ERROR_CODES)[]])
  .register(z.globalRegistry, { id: COMPONENT_IDS.errorCode, description: 'A stable flowd error code (README: Errors).' });

export const ErrorSummarySchema: z.ZodType<ErrorSummary> = z
  .object({
    code: ErrorCodeSchema,
    message: z.string().meta({ examples: ['upstream answered 503'] }),
    phase: z.string().optional(),
    attempts: attempts.optional(),
    status: z.number().min(0).optional().describe('The upstream HTTP status, for component failures.').meta({ examples: [503] }),
    reason: z.string().optional().describe("The adapter's own code for the failure, e.g. SQL_UNIQUE_VIOLATION."),
    recoverable: z.boolean().optional(),
    retryAfterSeconds: z.number().min(0).max(86_400).optional(),
    get cause(): z.ZodOptional<z.ZodType<ErrorSummary>> {
      return ErrorSummarySchema.optional();
    },
  })
  .register(z.globalRegistry, { id: COMPONENT_IDS.errorSummary, description: 'Why an execution, a phase or a compensation failed.' });

export const CallRecordSchema = z
  .object({
    attempt: attempts,
    startedAt: timestamp,
    durationMs: durationMs.optional(),
    request: z.unknown().optional().describe('What was sent, as the adapter described it (method, URL, headers, body …); secrets masked.'),
    response: z.unknown().optional().describe("What came back (the adapter's result: status, headers, body …); size-capped."),
    error: ErrorSummarySchema.optional(),
    detail: z.unknown().optional().describe('What the upstream said when the attempt failed (an error body).'),
    retryInMs: z.number().min(0).optional().describe('The retry policy retried this attempt after this many ms.'),
  })
  .register(z.globalRegistry, { id: COMPONENT_IDS.callRecord, description: 'One attempt of a call, as the execution journal captured it (detail views).' });

export const PhaseRecordSchema = z
  .object({
    id: z.string().meta({ examples: ['charge'] }),
    kind: z.enum(['call', 'decision', 'parallel', 'map', 'subflow', 'wait']),
    status: z.enum(['running', 'waiting', 'succeeded', 'failed', 'compensated', 'cancelled']),
    attempts,
    startedAt: timestamp,
    finishedAt: timestamp.optional(),
    durationMs: durationMs.optional(),
    index: itemIndex.optional().describe('Item index inside a map.'),
    iteration: z.number().int().min(0).optional().describe('Pass number when a decision loop ran the phase again.'),
    component: z.string().optional(),
    branch: z.string().optional(),
    cached: z.boolean().optional(),
    fallback: z.boolean().optional(),
    restored: z.boolean().optional(),
    interrupted: z.boolean().optional().describe('The run it was in stopped before it ended (a crash, a lost lease); a later run ran it again.'),
    childExecutionId: z.string().optional(),
    error: ErrorSummarySchema.optional(),
    output: z.unknown().optional().describe("Detail views: the phase's output, sanitised and size-capped."),
    calls: z.array(CallRecordSchema).optional().describe('Detail views: each attempt with its request and response, as captured.'),
  })
  .register(z.globalRegistry, { id: COMPONENT_IDS.phaseRecord, description: 'One phase run: an entry of the execution timeline.' });

export const CompensationRecordSchema = z
  .object({
    phase: z.string(),
    index: itemIndex.optional(),
    status: z.enum(['succeeded', 'failed', 'pending']),
    attempts,
    durationMs: durationMs.optional(),
    error: ErrorSummarySchema.optional(),
    calls: z.array(CallRecordSchema).optional().describe("Detail views: the compensation's attempts."),
  })
  .register(z.globalRegistry, { id: COMPONENT_IDS.compensationRecord, description: 'One undo action of a transactional flow.' });

export const ExecutionRecordSchema = z
  .object({
    executionId,
    flow: z.string().meta({ examples: ['order-fulfillment'] }),
    version: z.string().meta({ examples: ['3'] }),
    status: z.enum(EXECUTION_STATUSES),
    input: z.unknown().optional(),
    output: z.unknown().optional(),
    startedAt: timestamp,
    finishedAt: timestamp.optional(),
    durationMs: durationMs.optional(),
    errorHandled: z.boolean(),
    fallbackExecuted: z.boolean(),
    recovered: z.boolean(),
    phases: z.array(PhaseRecordSchema),
    error: ErrorSummarySchema.optional(),
    compensations: z.array(CompensationRecordSchema).optional(),
    recoveryExecutionId: z.string().optional(),
    parentId: z.string().optional(),
    triggered: z.array(z.string()).optional(),
    triggersRefused: z
      .array(z.object({ flow: z.string(), error: ErrorSummarySchema }))
      .optional()
      .describe(
        "Triggers that did not start when the execution ended: refused by a queue bound (`FLOWD_ERR_QUEUE_FULL`: the tenant has `QUEUE_MAX_PER_TENANT` queued; `FLOWD_ERR_OVERLOADED`: `QUEUE_MAX` in all), or their input failed. Not retried; the execution's status is unchanged.",
      ),
    trigger: z
      .object({ kind: z.enum(['schedule']), schedule: z.string(), occurrence: timestamp })
      .optional()
      .describe('What started the execution when no caller did: a flow schedule and its occurrence (docs/schedules.md).'),
    waiting: z
      .object({
        phase: z.string(),
        for: z.enum(['time', 'signal', 'callback']),
        until: timestamp.describe('When it goes on at the latest: the time it waits for, or its timeout.'),
        signal: z.string().optional().describe('The signal it waits for: POST /executions/{id}/signals/{signal}.'),
      })
      .optional()
      .describe('While the execution is `waiting`: the wait phase it stopped at, what for and until when (docs/waits.md).'),
    requestId: z.string().optional(),
    retryOf: z.string().optional(),
    correlationKey: z.string().optional(),
    tenant: z
      .string()
      .optional()
      .describe('Reads (GET /executions/{id}) only: the tenant the execution belongs to, that of the API key that started it (`local` without keys).'),
    capturesTruncated: z.boolean().optional().describe("Detail views: the execution's capture budget ran out; some requests, responses or log lines are missing."),
  })
  .register(z.globalRegistry, { id: COMPONENT_IDS.executionRecord, description: 'The execution record: the one shape returned, stored and served.' });

export const IssueSchema = z
  .object({
    path: z.string().meta({ examples: ['input.lines'] }),
    message: z.string().meta({ examples: ['must be an integer'] }),
  })
  .register(z.globalRegistry, { id: COMPONENT_IDS.issue, description: 'One problem with the request, at a path inside it.' });

export const ProblemSchema = z
  .object({
    type: z.string().meta({ examples: ['https://flowd.dev/problems/input-invalid'] }),
    title: z.string(),
    status: z.number().int().min(400).max(599).meta({ examples: [400] }),
    detail: z.string(),
    code: ErrorCodeSchema,
    instance: z.string().optional().describe('The request id.'),
    issues: z.array(IssueSchema).optional(),
    execution: ExecutionRecordSchema.optional(),
  })
  .register(z.globalRegistry, { id: COMPONENT_IDS.problem, description: 'RFC 9457 problem details (application/problem+json) with a stable code.' });
