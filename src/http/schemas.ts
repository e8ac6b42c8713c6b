import { z } from 'zod';
import { ERROR_CODES } from '../errors.js';
import { EXECUTION_STATUSES } from '../engine/record.js';
import { FLOW_NAME_PATTERN } from '../flows/schema.js';

export const FlowNameParams = z.object({
  name: z.string().regex(FLOW_NAME_PATTERN, 'is not a flow name (^[a-z0-9][a-z0-9_-]{0,63}$)'),
});

export const ExecutionIdParams = z.object({
  id: z.string().regex(/^[0-9a-f-]{36}$/, 'is not an execution id'),
});

export const ExecuteOptionsSchema = z
  .strictObject({
    timeoutMs: z.number().int().min(1).max(3_600_000).optional().describe('Shortens the flow deadline (never lengthens it).'),
    enableCaching: z.boolean().optional().describe('false bypasses phase caches for this execution.'),
    parallelExecution: z.boolean().optional().describe('false runs parallel blocks and maps one item at a time.'),
    callbackUrl: z.string().url().optional().describe('Async executions: POSTed the record when done (hosts allowed by CALLBACK_ALLOW).'),
    correlationKey: z
      .string()
      .min(1)
      .max(256)
      .optional()
      .describe('Recorded on the execution; a dependent flow’s `depends_on` with `within_ms` and `correlation_key` matches on it.'),
  })
  .describe('The seed’s per-call options.');

export const ExecuteBodySchema = z.strictObject({
  input: z.unknown().describe("The flow's input; validated against the flow's input schema."),
  options: ExecuteOptionsSchema.optional(),
});

const ErrorCodeSchema = z.enum(Object.keys(ERROR_CODES) as [keyof typeof ERROR_CODES, ...(keyof typeof ERROR_CODES)[]]);

const ErrorSummarySchema: z.ZodType<unknown> = z.lazy(() =>
  z.object({
    code: ErrorCodeSchema,
    message: z.string(),
    phase: z.string().optional(),
    attempts: z.number().optional(),
    status: z.number().optional(),
    reason: z.string().optional().describe("The adapter's own code for the failure, e.g. SQL_UNIQUE_VIOLATION."),
    recoverable: z.boolean().optional(),
    retryAfterSeconds: z.number().optional(),
    cause: ErrorSummarySchema.optional(),
  }),
);

export const PhaseRecordSchema = z.object({
  id: z.string(),
  kind: z.enum(['call', 'decision', 'parallel', 'map', 'subflow']),
  status: z.enum(['running', 'succeeded', 'failed', 'compensated', 'cancelled']),
  attempts: z.number().int(),
  startedAt: z.string(),
  finishedAt: z.string().optional(),
  durationMs: z.number().optional(),
  index: z.number().int().optional(),
  iteration: z.number().int().optional(),
  component: z.string().optional(),
  branch: z.string().optional(),
  cached: z.boolean().optional(),
  fallback: z.boolean().optional(),
  restored: z.boolean().optional(),
  childExecutionId: z.string().optional(),
  error: ErrorSummarySchema.optional(),
});

export const ExecutionRecordSchema = z
  .object({
    executionId: z.string(),
    flow: z.string(),
    version: z.string(),
    status: z.enum(EXECUTION_STATUSES),
    input: z.unknown().optional(),
    output: z.unknown().optional(),
    startedAt: z.string(),
    finishedAt: z.string().optional(),
    durationMs: z.number().optional(),
    errorHandled: z.boolean(),
    fallbackExecuted: z.boolean(),
    recovered: z.boolean(),
    phases: z.array(PhaseRecordSchema),
    error: ErrorSummarySchema.optional(),
    compensations: z
      .array(
        z.object({
          phase: z.string(),
          index: z.number().int().optional(),
          status: z.enum(['succeeded', 'failed', 'pending']),
          attempts: z.number().int(),
          durationMs: z.number().optional(),
          error: ErrorSummarySchema.optional(),
        }),
      )
      .optional(),
    recoveryExecutionId: z.string().optional(),
    parentId: z.string().optional(),
    triggered: z.array(z.string()).optional(),
    requestId: z.string().optional(),
    retryOf: z.string().optional(),
    correlationKey: z.string().optional(),
  })
  .describe('The execution record: the one shape returned, stored and served.');

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: ErrorCodeSchema,
    instance: z.string().optional(),
    issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    execution: ExecutionRecordSchema.optional(),
  })
  .describe('RFC 9457 problem details (application/problem+json) with a stable code.');

export const FlowSummarySchema = z.object({
  name: z.string(),
  version: z.string(),
  description: z.string(),
});

export const FlowDetailSchema = FlowSummarySchema.extend({
  source: z.string(),
  inputSchema: z.record(z.string(), z.unknown()),
  examples: z.record(z.string(), z.unknown()),
  definition: z.record(z.string(), z.unknown()),
  components: z.array(z.object({ name: z.string(), adapter: z.string(), description: z.string().optional(), target: z.unknown().optional() })),
  phases: z.array(z.string()),
  diagram: z.string().describe('Mermaid graph TD of the phases and decisions.'),
});

/** Problem responses every route may give, for the OpenAPI document. */
export function problemResponses(...statuses: number[]): Record<number, typeof ProblemSchema> {
  return Object.fromEntries(statuses.map((status) => [status, ProblemSchema]));
}

/** `202 Accepted` of an async execution (`Prefer: respond-async`, or `Prefer: wait=N` that ran out). */
export const AcceptedSchema = z
  .object({ executionId: z.string(), status: z.enum(EXECUTION_STATUSES) })
  .describe('The execution was accepted; follow the Location header (GET /executions/{id}) for its record.');
