import { z } from 'zod';
import { EXECUTION_STATUSES } from '../engine/record.js';
import { FLOW_NAME_PATTERN } from '../flows/schema.js';
import { COMPONENT_IDS, ProblemSchema } from './record-schemas.js';

export const FlowNameParams = z.object({
  name: z.string().regex(FLOW_NAME_PATTERN, 'is not a flow name (^[a-z0-9][a-z0-9_-]{0,63}$)'),
});

export const ExecutionIdParams = z.object({
  id: z.string().regex(/^[0-9a-f-]{36}$/, 'is not an execution id'),
});

export const ExecuteOptionsSchema = z
  .strictObject({
    timeoutMs: z.number().int().min(1).max(3_600_000).optional().meta({ examples: [2000] }).describe('Shortens the flow deadline (never lengthens it).'),
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
  .register(z.globalRegistry, { id: COMPONENT_IDS.executeOptions, description: 'Per-call options of an execution.' });

export const ExecuteBodySchema = z.strictObject({
  input: z.unknown().describe("The flow's input; validated against the flow's input schema."),
  options: ExecuteOptionsSchema.optional(),
});

export const FlowVersionParams = FlowNameParams.extend({
  version: z.string().min(1).max(64).describe('A loaded version of the flow (its `version`), as listed by GET /flows/{name}.'),
});

export const FlowSummarySchema = z.object({
  name: z.string(),
  version: z.string().describe('The current version: the one `POST /flows/{name}/execute` runs.'),
  description: z.string(),
  versions: z.array(z.string()).describe('Every loaded version, oldest first.'),
});

export const FlowVersionSchema = z.object({
  version: z.string(),
  current: z.boolean(),
  hash: z.string().describe('Content hash of the definition; executions are pinned to it.'),
  source: z.string().describe('The flow file, by its name in FLOWS_DIR.'),
  description: z.string(),
});

export const FlowDetailSchema = z.object({
  name: z.string(),
  version: z.string(),
  current: z.boolean().describe('Whether this is the version `POST /flows/{name}/execute` runs.'),
  hash: z.string().describe('Content hash of the definition; executions are pinned to it.'),
  description: z.string(),
  versions: z.array(FlowVersionSchema).describe('Every loaded version of the flow, oldest first.'),
  source: z.string().describe('The flow file, by its name in FLOWS_DIR.'),
  inputSchema: z.record(z.string(), z.unknown()),
  examples: z.record(z.string(), z.unknown()),
  definition: z.record(z.string(), z.unknown()),
  components: z.array(z.object({ name: z.string(), adapter: z.string(), description: z.string().optional(), target: z.unknown().optional() })),
  phases: z.array(z.string()),
  diagram: z.string().describe('Mermaid graph TD of the phases and decisions.'),
  schedules: z
    .array(
      z.object({
        name: z.string(),
        cron: z.string(),
        timezone: z.string(),
        missed: z.enum(['skip', 'run_once']),
        input: z.unknown(),
        nextOccurrence: z.string().optional().describe('ISO 8601; absent if it never fires again.'),
        lastFired: z.string().optional().describe('ISO 8601: the last occurrence fired (any replica).'),
      }),
    )
    .describe('Cron schedules that start the flow (docs/schedules.md), with their next occurrence.'),
});

/** A problem answer as documented: `application/problem+json` with the shared Problem component. */
const PROBLEM_RESPONSE = {
  description: 'A problem (RFC 9457)',
  content: { 'application/problem+json': { schema: ProblemSchema } },
};

/** Problem responses a route may give, for the OpenAPI document. */
export function problemResponses(...statuses: number[]): Record<number, typeof PROBLEM_RESPONSE> {
  return Object.fromEntries(statuses.map((status) => [status, PROBLEM_RESPONSE]));
}

/** `202 Accepted` of an async execution (`Prefer: respond-async`, `Prefer: wait=N` that ran out, or one that waits). */
export const AcceptedSchema = z
  .object({
    executionId: z.string(),
    status: z.enum(EXECUTION_STATUSES),
    waiting: z
      .object({ phase: z.string(), for: z.enum(['time', 'signal', 'callback']), until: z.string(), signal: z.string().optional() })
      .optional()
      .describe('The execution stopped at a wait (status `waiting`): the phase, what for, and until when (docs/waits.md).'),
  })
  .describe('The execution was accepted; follow the Location header (GET /executions/{id}) for its record.')
  .register(z.globalRegistry, { id: COMPONENT_IDS.accepted, description: 'The execution was accepted (queued, still running, or waiting); follow the Location header for its record.' });
