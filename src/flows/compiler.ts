import { walkPhases } from './phase-tree.js';
import { createHash } from 'node:crypto';
import type { AdapterRegistry } from '../adapters/registry.js';
import { ConfigurationError, type ConfigurationIssue } from '../errors.js';
import { DEFAULT_HALF_OPEN_AFTER_MS, buildBreaker, buildBulkhead } from '../engine/policies.js';
import { compileChecked, compilePhaseList, type PhaseCompileContext } from './compile-phases.js';
import type { CompiledComponent, CompiledFlow, CompiledPhase } from './compiled.js';
import { compileInputSchema } from './input-schema.js';
import { COMPONENT_POLICY_KEYS, FlowDefinitionSchema, type ComponentDefinition, type FlowDefinition } from './schema.js';
import { SecretStore, resolveSecrets, type SecretSource } from './secrets.js';

export const DEFAULT_FLOW_TIMEOUT_MS = 30_000;
export const DEFAULT_CALL_TIMEOUT_MS = 10_000;
export const DEFAULT_BULKHEAD_QUEUE = 0;

/** A flow before validation: parsed from a file (`source` is its path) or given in code. */
export interface FlowSource {
  readonly source: string;
  readonly definition: unknown;
}

export interface CompileOptions {
  readonly adapters: AdapterRegistry;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly secrets?: SecretStore;
  /** Issues found before compilation (unreadable files, YAML errors) to report together. */
  readonly priorIssues?: readonly ConfigurationIssue[];
}

/**
 * Validates and compiles every flow. Collects every problem of every flow and throws one
 * ConfigurationError listing them all (file, path inside it, what is wrong), or returns the
 * compiled flows. Nothing here is repeated per request.
 */
export function compileFlows(sources: readonly FlowSource[], options: CompileOptions): Map<string, CompiledFlow> {
  const issues: ConfigurationIssue[] = [...(options.priorIssues ?? [])];
  const secrets = options.secrets ?? new SecretStore();
  const secretSource: SecretSource = { env: options.env ?? process.env };
  const flows = new Map<string, CompiledFlow>();
  const files = new Map<string, string>();

  for (const { source, definition } of sources) {
    const report = (path: string, message: string): void => {
      issues.push({ file: source, path, message });
    };
    const parsed = FlowDefinitionSchema.safeParse(definition);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) report(formatPath(issue.path), issue.message);
      continue;
    }
    const flow = parsed.data;
    const previous = files.get(flow.name);
    if (previous !== undefined) {
      report('name', `flow "${flow.name}" is already defined in ${previous}`);
      continue;
    }
    files.set(flow.name, source);
    const compiled = compileFlow(flow, source, report, options.adapters, secretSource, secrets);
    if (compiled !== undefined) flows.set(flow.name, compiled);
  }

  checkFlowReferences(flows, (flow, path, message) => issues.push({ file: flow.source, path, message }));
  if (issues.length > 0) {
    for (const flow of flows.values()) for (const component of flow.components.values()) void component.instance.close?.();
    throw new ConfigurationError(issues);
  }
  return flows;
}

function compileFlow(
  flow: FlowDefinition,
  source: string,
  report: (path: string, message: string) => void,
  adapters: AdapterRegistry,
  secretSource: SecretSource,
  secrets: SecretStore,
): CompiledFlow | undefined {
  const issueCount = { value: 0 };
  const counted = (path: string, message: string): void => {
    issueCount.value += 1;
    report(path, message);
  };
  const components = new Map<string, CompiledComponent>();
  for (const [name, definition] of Object.entries(flow.components ?? {})) {
    const component = compileComponent(name, definition, flow, adapters, secretSource, secrets, counted);
    if (component !== undefined) components.set(name, component);
  }
  const declared = new Set(Object.keys(flow.components ?? {}));
  const ctx: PhaseCompileContext = {
    report: counted,
    flowRetry: flow.defaults?.retry_policy,
    defaultCallTimeoutMs: flow.defaults?.timeout_ms ?? DEFAULT_CALL_TIMEOUT_MS,
    seenIds: new Set(),
    phaseIds: [],
    component: (name, path) => {
      const existing = components.get(name);
      if (existing !== undefined) return existing;
      const adapter = adapters.get(name);
      if (!declared.has(name) && adapter?.implicit === true) {
        const implicit = compileComponent(name, { adapter: name }, flow, adapters, secretSource, secrets, counted);
        if (implicit !== undefined) components.set(name, implicit);
        return implicit;
      }
      if (!declared.has(name)) {
        const known = [...declared, ...adapters.kinds().filter((kind) => adapters.get(kind)?.implicit === true)];
        counted(path, `unknown component "${name}" (declared: ${known.join(', ') || 'none'})`);
      }
      return undefined;
    },
  };
  const rootScope = { available: new Set<string>(), inMap: false };
  const { phases, available } = compilePhaseList(flow.phases, 'phases', rootScope, ctx);
  const output = flow.output === undefined ? undefined : compileChecked(flow.output, 'output', { available, inMap: false }, ctx, []);
  const dependsOn = (flow.depends_on ?? []).map((dependency, index) => ({
    flow: dependency.flow,
    input: dependency.input === undefined ? undefined : compileChecked(dependency.input, `depends_on[${index}].input`, rootScope, ctx, []),
    withinMs: dependency.within_ms,
    correlationKey:
      dependency.correlation_key === undefined
        ? undefined
        : compileChecked(dependency.correlation_key, `depends_on[${index}].correlation_key`, rootScope, ctx, []),
  }));
  const triggers = (flow.triggers ?? []).map((trigger, index) => ({
    flow: trigger.flow,
    on: trigger.on ?? 'succeeded',
    input: trigger.input === undefined ? undefined : compileChecked(trigger.input, `triggers[${index}].input`, { available, inMap: false }, ctx, ['output']),
  }));
  const inputSchema = flow.input ?? { type: 'object' };
  const validateInput = compileInputSchema(inputSchema, counted);
  if (validateInput !== undefined) {
    for (const [name, example] of Object.entries(flow.examples ?? {})) {
      for (const issue of validateInput(example) ?? []) counted(`examples.${name}${issue.path.slice('input'.length)}`, `example does not match the input schema: ${issue.message}`);
    }
  }
  if (issueCount.value > 0 || validateInput === undefined) return undefined;
  const recovery =
    flow.recovery_flow === undefined
      ? undefined
      : typeof flow.recovery_flow === 'string'
        ? { flow: flow.recovery_flow, on: undefined }
        : { flow: flow.recovery_flow.flow, on: flow.recovery_flow.on === undefined ? undefined : new Set(flow.recovery_flow.on) };
  return {
    name: flow.name,
    version: String(flow.version ?? '1'),
    description: flow.description ?? '',
    source,
    hash: createHash('sha256').update(JSON.stringify(flow)).digest('hex').slice(0, 16),
    definition: flow,
    inputSchema,
    validateInput,
    examples: flow.examples ?? {},
    timeoutMs: flow.timeout_ms ?? DEFAULT_FLOW_TIMEOUT_MS,
    transactional: flow.transactional ?? false,
    recovery,
    persistence: flow.persistence,
    capture: flow.capture,
    components,
    phases,
    output,
    dependsOn,
    triggers,
    phaseIds: ctx.phaseIds,
  };
}

function compileComponent(
  name: string,
  definition: ComponentDefinition,
  flow: FlowDefinition,
  adapters: AdapterRegistry,
  secretSource: SecretSource,
  secrets: SecretStore,
  report: (path: string, message: string) => void,
): CompiledComponent | undefined {
  const path = `components.${name}`;
  const adapter = adapters.get(definition.adapter);
  if (adapter === undefined) {
    report(`${path}.adapter`, `unknown adapter "${definition.adapter}" (registered: ${adapters.kinds().join(', ')})`);
    return undefined;
  }
  const adapterConfig = Object.fromEntries(
    Object.entries(definition).filter(([key]) => !(COMPONENT_POLICY_KEYS as readonly string[]).includes(key)),
  );
  const resolved = resolveSecrets(adapterConfig, secretSource, secrets);
  for (const missing of resolved.missing) {
    report(path, `secret "${missing}" is not set (set the environment variable ${missing}, or ${missing}_FILE to a file holding it)`);
  }
  const parsed = (adapter.configSchema).safeParse(resolved.value);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) report(joinPath(path, formatPath(issue.path)), secrets.maskText(issue.message));
    return undefined;
  }
  if (resolved.missing.length > 0) return undefined;
  let instance;
  try {
    instance = adapter.create(parsed.data, { name, flow: flow.name });
  } catch (error) {
    report(path, secrets.maskText(error instanceof Error ? error.message : String(error)));
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
    summary: { adapter: definition.adapter, ...(instance.describe?.() ?? {}) },
  };
}

/** Sub-flows, recovery flows and dependencies must exist, and must not form cycles. */
function checkFlowReferences(
  flows: ReadonlyMap<string, CompiledFlow>,
  report: (flow: CompiledFlow, path: string, message: string) => void,
): void {
  const edges = new Map<string, { target: string; path: string }[]>();
  for (const flow of flows.values()) {
    const out: { target: string; path: string }[] = [];
    walkPhases(flow.phases, (phase) => {
      if (phase.kind === 'subflow') out.push({ target: phase.flow, path: `${phase.path}.flow` });
    });
    flow.dependsOn.forEach((dependency, index) => out.push({ target: dependency.flow, path: `depends_on[${index}].flow` }));
    const triggerEdges = flow.triggers.map((trigger, index) => ({ target: trigger.flow, path: `triggers[${index}].flow` }));
    const recoveryEdges = flow.recovery === undefined ? [] : [{ target: flow.recovery.flow, path: 'recovery_flow' }];
    for (const edge of [...out, ...triggerEdges, ...recoveryEdges]) {
      if (!flows.has(edge.target)) report(flow, edge.path, `unknown flow "${edge.target}"`);
    }
    if (flow.recovery?.flow === flow.name) report(flow, 'recovery_flow', 'a flow cannot be its own recovery flow');
    edges.set(flow.name, [...out, ...triggerEdges]);
  }
  // Depth-first search for cycles through sub-flows, prerequisites and triggers.
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, trail: string[]): void => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      const cycle = [...trail.slice(trail.indexOf(name)), name];
      const flow = flows.get(trail[trail.length - 1]!);
      if (flow !== undefined) report(flow, edgePath(edges, trail[trail.length - 1]!, name), `flow cycle: ${cycle.join(' → ')}`);
      return;
    }
    state.set(name, 'visiting');
    for (const edge of edges.get(name) ?? []) if (flows.has(edge.target)) visit(edge.target, [...trail, name]);
    state.set(name, 'done');
  };
  for (const name of flows.keys()) visit(name, []);
}

function edgePath(edges: Map<string, { target: string; path: string }[]>, from: string, to: string): string {
  return edges.get(from)?.find((edge) => edge.target === to)?.path ?? '';
}

/** `['phases', 2, 'component']` → `phases[2].component`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

function joinPath(base: string, rest: string): string {
  if (rest === '') return base;
  return rest.startsWith('[') ? base + rest : `${base}.${rest}`;
}
