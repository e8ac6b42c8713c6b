import type { AdapterRegistry } from '../adapters/registry.js';
import { DEFAULT_HALF_OPEN_AFTER_MS, buildBreaker, buildBulkhead } from '../engine/policies.js';
import type { CompiledComponent } from './compiled.js';
import type { Reporter } from './parse-fields.js';
import { COMPONENT_POLICY_KEYS, type ComponentDefinition, type FlowDefinition } from './schema.js';
import { MIN_SECRET_LENGTH, resolveSecrets, type SecretSource, type SecretStore } from './secrets.js';
import { didYouMean, listNames } from './suggest.js';
import { plainZodIssues } from './zod-words.js';

export const DEFAULT_CALL_TIMEOUT_MS = 10_000;
export const DEFAULT_BULKHEAD_QUEUE = 0;

export interface ComponentCompileContext {
  readonly adapters: AdapterRegistry;
  readonly secretSource: SecretSource;
  readonly secrets: SecretStore;
  readonly report: Reporter;
}

/**
 * Compiles one component: its adapter must exist, its secrets must resolve, its configuration
 * must pass the adapter's schema (problems in plain words; unknown keys get a did-you-mean over
 * the adapter's keys and the policy keys), and the adapter must accept it.
 */
export function compileComponent(name: string, definition: ComponentDefinition, flow: FlowDefinition, ctx: ComponentCompileContext): CompiledComponent | undefined {
  const path = ['components', name];
  const { adapters, secrets, report } = ctx;
  const adapter = adapters.get(definition.adapter);
  if (adapter === undefined) {
    const kinds = adapters.kinds();
    report([...path, 'adapter'], `unknown adapter "${definition.adapter}"${didYouMean(definition.adapter, kinds)}; registered adapters: ${listNames(kinds)}`);
    return undefined;
  }
  const adapterConfig = Object.fromEntries(
    Object.entries(definition).filter(([key]) => !(COMPONENT_POLICY_KEYS as readonly string[]).includes(key)),
  );
  const resolved = resolveSecrets(adapterConfig, ctx.secretSource, secrets);
  for (const missing of resolved.missing) {
    report(path, `secret "${missing}" is not set (set the environment variable ${missing}, or ${missing}_FILE to a file holding it)`);
  }
  for (const short of resolved.tooShort) {
    report(path, `secret "${short}" is shorter than ${MIN_SECRET_LENGTH} characters: it could not be masked safely in logs and records (use a longer value)`);
  }
  const parsed = adapter.configSchema.safeParse(resolved.value);
  if (!parsed.success) {
    for (const issue of plainZodIssues(parsed.error.issues, resolved.value, adapter.configSchema, COMPONENT_POLICY_KEYS)) {
      report([...path, ...issue.path], secrets.maskText(issue.message));
    }
    return undefined;
  }
  if (resolved.missing.length > 0 || resolved.tooShort.length > 0) return undefined;
  let instance;
  try {
    instance = adapter.create(parsed.data, { name, flow: flow.name });
  } catch (error) {
    report(path, secrets.maskText(error instanceof Error ? error.message : String(error)));
    return undefined;
  }
  if (definition.required === true && instance.ready === undefined) {
    report([...path, 'required'], `adapter "${definition.adapter}" cannot tell whether its component is available, so it cannot be required (required works with adapters that check their connection, sql, redis, amqp, nats, mqtt); remove required`);
    return undefined;
  }
  const breakerDefinition = definition.circuit_breaker;
  return {
    name,
    adapter: definition.adapter,
    description: definition.description,
    instance,
    pure: adapter.pure === true,
    timeoutMs: definition.timeout_ms ?? flow.defaults?.timeout_ms ?? DEFAULT_CALL_TIMEOUT_MS,
    retryDefinition: definition.retry_policy,
    breaker: breakerDefinition === undefined ? undefined : buildBreaker(breakerDefinition),
    breakerHalfOpenAfterMs: breakerDefinition?.half_open_after_ms ?? DEFAULT_HALF_OPEN_AFTER_MS,
    bulkhead:
      definition.bulkhead === undefined
        ? undefined
        : buildBulkhead(definition.bulkhead.max_concurrent, definition.bulkhead.max_queue ?? DEFAULT_BULKHEAD_QUEUE),
    required: definition.required === true,
    summary: { adapter: definition.adapter, ...(instance.describe?.() ?? {}), ...(definition.required === true ? { required: true } : {}) },
  };
}
