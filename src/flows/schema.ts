import { z } from 'zod';
import { RETRY_CATEGORIES } from '../adapters/failures.js';
import { ScheduleSchema } from './schedule-schema.js';
import { CallbackSchema, WaitSchema, type CallbackDefinition, type WaitDefinition } from './wait-schema.js';

/**
 * The flow-file schema: the one description of what a flow file may contain.
 * Keys are snake_case and use the seed's vocabulary. Adapter-specific component
 * keys are validated later by the adapter's own schema, so components pass through.
 */

export const FLOW_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export const PHASE_ID_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
/** Parallel width is fixed in the flow file, so it is bounded at load (map width: `concurrency` ≤ 1000, MAX_MAP_ITEMS). */
export const MAX_PARALLEL_BRANCHES = 64;
export const COMPONENT_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;
export const EXAMPLE_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

const flowName = z.string().regex(FLOW_NAME_PATTERN, 'must match ^[a-z0-9][a-z0-9_-]{0,63}$');
const phaseId = z
  .string()
  .regex(PHASE_ID_PATTERN, 'must be an identifier usable in expressions (^[A-Za-z_][A-Za-z0-9_]{0,63}$)');
const positiveMs = z.number().int().positive().max(24 * 3600 * 1000);

/** Parses `value` with `schema`, reporting its issues (with their paths) on the outer context. */
function parseInto(schema: z.ZodType<unknown>, value: unknown, ctx: z.core.$RefinementCtx): unknown {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  for (const issue of result.error.issues) ctx.issues.push({ ...issue, input: value } as never);
  return z.NEVER;
}

/** A value that may contain `{% jsonata %}` expressions anywhere inside it. */
export const TemplateSchema: z.ZodType<unknown> = z.unknown();

export const RetryPolicySchema = z.strictObject({
  max_attempts: z.number().int().min(1).max(10).optional(),
  initial_delay_ms: z.number().int().min(0).max(60_000).optional(),
  backoff_factor: z.number().min(1).max(10).optional(),
  max_delay_ms: z.number().int().min(0).max(300_000).optional(),
  jitter: z.enum(['full', 'none']).optional(),
  retry_on: z.array(z.enum(RETRY_CATEGORIES)).optional(),
  budget_ms: positiveMs.optional(),
});
export type RetryPolicyDefinition = z.infer<typeof RetryPolicySchema>;

export const CircuitBreakerSchema = z.strictObject({
  consecutive_failures: z.number().int().min(1).max(1000).optional(),
  failure_ratio: z.number().gt(0).max(1).optional(),
  min_calls: z.number().int().min(1).max(100_000).optional(),
  window_ms: positiveMs.optional(),
  half_open_after_ms: positiveMs.optional(),
});
export type CircuitBreakerDefinition = z.infer<typeof CircuitBreakerSchema>;

export const BulkheadSchema = z.strictObject({
  max_concurrent: z.number().int().min(1).max(10_000),
  max_queue: z.number().int().min(0).max(100_000).optional(),
});

export const CacheSchema = z.strictObject({
  ttl_ms: positiveMs,
  key: z.string().optional(),
  max_entries: z.number().int().min(1).max(1_000_000).optional(),
});

export const OnErrorSchema = z.strictObject({
  fallback: TemplateSchema,
});

export const CompensateSchema = z.strictObject({
  component: z.string().optional(),
  request: TemplateSchema.optional(),
  timeout_ms: positiveMs.optional(),
  retry_policy: RetryPolicySchema.optional(),
});

/** Keys every phase kind may carry. */
const phaseCommon = {
  id: phaseId,
  description: z.string().max(2000).optional(),
};

export interface CallPhaseDefinition {
  id: string;
  description?: string | undefined;
  component: string;
  request?: unknown;
  output?: unknown;
  timeout_ms?: number | undefined;
  retry_policy?: RetryPolicyDefinition | undefined;
  cache?: z.infer<typeof CacheSchema> | undefined;
  on_error?: z.infer<typeof OnErrorSchema> | undefined;
  compensate?: z.infer<typeof CompensateSchema> | undefined;
  callback?: CallbackDefinition | undefined;
}

export interface WaitPhaseDefinition {
  id: string;
  description?: string | undefined;
  wait: WaitDefinition;
}

export interface DecisionBranchDefinition {
  when?: string | undefined;
  label?: string | undefined;
  phases?: PhaseDefinition[] | undefined;
  goto?: string | undefined;
  max_iterations?: number | undefined;
  otherwise?: PhaseDefinition[] | undefined;
}

export interface DecisionPhaseDefinition {
  id: string;
  description?: string | undefined;
  decision: DecisionBranchDefinition[];
}

export interface ParallelPhaseDefinition {
  id: string;
  description?: string | undefined;
  parallel: Record<string, PhaseDefinition[]>;
}

export interface MapPhaseDefinition {
  id: string;
  description?: string | undefined;
  map: {
    items: string;
    concurrency?: number | undefined;
    max_items?: number | undefined;
    phases: PhaseDefinition[];
    output?: unknown;
  };
}

export interface SubflowPhaseDefinition {
  id: string;
  description?: string | undefined;
  flow: string;
  input?: unknown;
  output?: unknown;
}

export type PhaseDefinition =
  | CallPhaseDefinition
  | DecisionPhaseDefinition
  | ParallelPhaseDefinition
  | MapPhaseDefinition
  | SubflowPhaseDefinition
  | WaitPhaseDefinition;

const phaseList: z.ZodType<PhaseDefinition[]> = z.lazy(() => z.array(PhaseSchema).min(1));

export const CallPhaseSchema = z.strictObject({
  ...phaseCommon,
  component: z.string().min(1),
  request: TemplateSchema.optional(),
  output: TemplateSchema.optional(),
  timeout_ms: positiveMs.optional(),
  retry_policy: RetryPolicySchema.optional(),
  cache: CacheSchema.optional(),
  on_error: OnErrorSchema.optional(),
  compensate: CompensateSchema.optional(),
  callback: CallbackSchema.optional(),
});

export const WhenBranchSchema = z.strictObject({
  when: z.string(),
  label: z.string().max(200).optional(),
  phases: z.array(z.lazy(() => PhaseSchema)).optional(),
  goto: phaseId.optional(),
  max_iterations: z.number().int().min(1).max(10_000).optional(),
});
export const OtherwiseBranchSchema = z.strictObject({
  otherwise: z.array(z.lazy(() => PhaseSchema)),
  label: z.string().max(200).optional(),
});

const DecisionBranchSchema = z.lazy(() =>
  z.unknown().transform((value, ctx) =>
    parseInto(
      typeof value === 'object' && value !== null && 'otherwise' in value ? OtherwiseBranchSchema : WhenBranchSchema,
      value,
      ctx,
    ),
  ),
);

export const DecisionPhaseSchema = z.strictObject({
  ...phaseCommon,
  decision: z.array(DecisionBranchSchema).min(1),
});

export const ParallelPhaseSchema = z.strictObject({
  ...phaseCommon,
  parallel: z
    .record(phaseId, phaseList)
    .refine((branches) => Object.keys(branches).length > 0, 'a parallel block needs at least one branch')
    .refine((branches) => Object.keys(branches).length <= MAX_PARALLEL_BRANCHES, `a parallel phase has at most ${MAX_PARALLEL_BRANCHES} branches`),
});

export const MapPhaseSchema = z.strictObject({
  ...phaseCommon,
  map: z.strictObject({
    items: z.string(),
    concurrency: z.number().int().min(1).max(1000).optional(),
    max_items: z.number().int().min(1).max(100_000).optional(),
    phases: phaseList,
    output: TemplateSchema.optional(),
  }),
});

export const SubflowPhaseSchema = z.strictObject({
  ...phaseCommon,
  flow: flowName,
  input: TemplateSchema.optional(),
  output: TemplateSchema.optional(),
});

export const WaitPhaseSchema = z.strictObject({
  ...phaseCommon,
  wait: WaitSchema,
});

/** Which key decides a phase's kind; checked in this order so the error names the right schema. */
export const PHASE_KIND_KEYS = ['component', 'decision', 'parallel', 'map', 'flow', 'wait'] as const;

export const PHASE_SCHEMAS = {
  component: CallPhaseSchema,
  decision: DecisionPhaseSchema,
  parallel: ParallelPhaseSchema,
  map: MapPhaseSchema,
  flow: SubflowPhaseSchema,
  wait: WaitPhaseSchema,
} as const;

/**
 * A phase's kind is chosen by the key it carries, then that kind's strict schema
 * validates it, so an error names the right fields instead of a five-way union failure.
 */
export const PhaseSchema: z.ZodType<PhaseDefinition> = z.lazy(() =>
  z.unknown().transform((value, ctx) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      ctx.issues.push({ code: 'custom', message: 'a phase must be an object', input: value });
      return z.NEVER;
    }
    const kinds = PHASE_KIND_KEYS.filter((key) => key in value);
    if (kinds.length !== 1) {
      ctx.issues.push({
        code: 'custom',
        input: value,
        message:
          kinds.length === 0
            ? `a phase needs exactly one of: ${PHASE_KIND_KEYS.join(', ')}`
            : `a phase can only be one kind, found: ${kinds.join(', ')}`,
      });
      return z.NEVER;
    }
    return parseInto(PHASE_SCHEMAS[kinds[0]!] as z.ZodType<unknown>, value, ctx) as PhaseDefinition;
  }),
);

export const ComponentSchema = z.looseObject({
  adapter: z.string().min(1),
  description: z.string().max(2000).optional(),
  timeout_ms: positiveMs.optional(),
  retry_policy: RetryPolicySchema.optional(),
  circuit_breaker: CircuitBreakerSchema.optional(),
  bulkhead: BulkheadSchema.optional(),
  /** `/health/ready` answers 503 while this component cannot serve (adapters that can check their connection: sql, redis, amqp, nats, mqtt). */
  required: z.boolean().optional(),
});
export type ComponentDefinition = z.infer<typeof ComponentSchema>;

/** Keys of a component that flowd itself interprets; the rest is the adapter's config. */
export const COMPONENT_POLICY_KEYS = [
  'adapter',
  'description',
  'timeout_ms',
  'retry_policy',
  'circuit_breaker',
  'bulkhead',
  'required',
] as const;

export const RecoveryObjectSchema = z.strictObject({
  flow: flowName,
  on: z.array(z.string()).optional(),
});

export const RecoverySchema = z.union([flowName, RecoveryObjectSchema]);

export const DependencySchema = z.strictObject({
  flow: flowName,
  input: TemplateSchema.optional(),
  within_ms: positiveMs.optional(),
  correlation_key: z.string().optional(),
});

export const TriggerSchema = z.strictObject({
  flow: flowName,
  on: z.enum(['succeeded', 'failed', 'completed']).optional(),
  input: TemplateSchema.optional(),
});

export const PersistenceSchema = z.enum(['none', 'failed', 'all']);

/** What executions capture of their calls (requests and responses): see CAPTURE. */
export const CaptureSchema = z.enum(['none', 'errors', 'all']);

export const FlowDefinitionSchema = z.strictObject({
  name: flowName,
  version: z.union([z.number().int().min(0), z.string().min(1).max(64)]).optional(),
  description: z.string().max(10_000).optional(),
  input: z.record(z.string(), z.unknown()).optional(),
  examples: z.record(z.string().regex(EXAMPLE_NAME_PATTERN, 'must match ^[A-Za-z0-9_-]{1,64}$'), z.unknown()).optional(),
  timeout_ms: positiveMs.optional(),
  transactional: z.boolean().optional(),
  recovery_flow: RecoverySchema.optional(),
  persistence: PersistenceSchema.optional(),
  capture: CaptureSchema.optional(),
  defaults: z
    .strictObject({
      timeout_ms: positiveMs.optional(),
      retry_policy: RetryPolicySchema.optional(),
    })
    .optional(),
  components: z.record(z.string().regex(COMPONENT_NAME_PATTERN, 'must match ^[A-Za-z_][A-Za-z0-9_-]{0,63}$'), ComponentSchema).optional(),
  phases: phaseList,
  output: TemplateSchema.optional(),
  depends_on: z.array(DependencySchema).optional(),
  triggers: z.array(TriggerSchema).optional(),
  schedules: z.array(ScheduleSchema).max(100).optional(),
});

export type FlowDefinition = z.infer<typeof FlowDefinitionSchema>;
