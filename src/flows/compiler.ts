import { createHash } from 'node:crypto';
import type { AdapterRegistry } from '../adapters/registry.js';
import { ConfigurationError, type ConfigurationIssue } from '../errors.js';
import { DEFAULT_CALL_TIMEOUT_MS, compileComponent, type ComponentCompileContext } from './compile-component.js';
import { collectPhaseIds, compileChecked, compilePhaseList, type PhaseCompileContext } from './compile-phases.js';
import type { CompiledComponent, CompiledFlow } from './compiled.js';
import { FlowCatalog } from './flow-catalog.js';
import { checkFlowReferences, type FlowReference, type FlowReferences } from './flow-references.js';
import { compileInputSchema, salvagedInputValidator } from './input-schema.js';
import { collectWaits } from './compile-wait.js';
import { compileSchedules } from './compile-schedules.js';
import type { Reporter } from './parse-fields.js';
import { parseFlowDefinition, type ParsedFlow } from './parse-flow.js';
import type { FlowDefinition } from './schema.js';
import { SecretStore, type SecretSource } from './secrets.js';
export { walkPhases } from './phase-tree.js';
import { didYouMean, listNames } from './suggest.js';

export { DEFAULT_BULKHEAD_QUEUE, DEFAULT_CALL_TIMEOUT_MS } from './compile-component.js';
export const DEFAULT_FLOW_TIMEOUT_MS = 30_000;

type Dependency = NonNullable<FlowDefinition['depends_on']>[number];
type Trigger = NonNullable<FlowDefinition['triggers']>[number];
type Recovery = NonNullable<FlowDefinition['recovery_flow']>;

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
 * Validates and compiles every flow. Collects every problem of every flow in one pass — the
 * file's structure, its components, expressions, references between phases and between flows —
 * and throws one ConfigurationError listing them all (file, path inside it, what is wrong, what
 * is allowed), or returns the compiled flows: the current (highest) version of each. Nothing here
 * is repeated per request.
 */
export function compileFlows(sources: readonly FlowSource[], options: CompileOptions): Map<string, CompiledFlow> {
  return new Map(new FlowCatalog(compileFlowVersions(sources, options)).current());
}

/**
 * Like compileFlows, and keeps every version: several files may define one flow with different
 * `version`s (side by side). Returns every compiled definition.
 */
export function compileFlowVersions(sources: readonly FlowSource[], options: CompileOptions): CompiledFlow[] {
  const issues: ConfigurationIssue[] = [...(options.priorIssues ?? [])];
  const secrets = options.secrets ?? new SecretStore();
  const secretSource: SecretSource = { env: options.env ?? process.env };
  const flows: CompiledFlow[] = [];
  const files = new Map<string, string>();
  const references: FlowReferences[] = [];

  for (const { source, definition } of sources) {
    const report = (path: string, message: string): void => {
      issues.push({ file: source, path, message });
    };
    const reporter: Reporter = (path, message) => report(formatPath(path), message);
    const parsed = parseFlowDefinition(definition, reporter);
    if (parsed === undefined) continue;
    const name = parsed.failedFields.has('name') ? undefined : parsed.definition.name;
    const version = String(parsed.definition.version ?? '1');
    const previous = name === undefined ? undefined : files.get(`${name}@${version}`);
    if (previous !== undefined) {
      report('version', `flow "${name}" version ${version} is already defined in ${previous}; versions of one flow side by side need different \`version\` values`);
      continue;
    }
    if (name !== undefined) files.set(`${name}@${version}`, source);
    const compiled = compileFlow(parsed, source, reporter, { adapters: options.adapters, secretSource, secrets, report: reporter });
    if (name !== undefined) references.push({ name, references: compiled.references, report, waits: compiled.flow?.waits.durable === true });
    if (compiled.flow !== undefined) flows.push(compiled.flow);
  }

  checkFlowReferences(references);
  if (issues.length > 0) {
    for (const flow of flows) for (const component of flow.components.values()) void component.instance.close?.();
    throw new ConfigurationError(issues);
  }
  return flows;
}

function compileFlow(
  parsed: ParsedFlow,
  source: string,
  report: Reporter,
  componentContext: ComponentCompileContext,
): { flow: CompiledFlow | undefined; references: FlowReference[] } {
  const flow = parsed.definition;
  let issueCount = parsed.valid ? 0 : 1;
  const counted: Reporter = (path, message) => {
    issueCount += 1;
    report(path, message);
  };
  const componentCtx = { ...componentContext, report: counted };
  const components = new Map<string, CompiledComponent>();
  for (const [name, definition] of Object.entries(flow.components ?? {})) {
    const component = compileComponent(name, definition, flow, componentCtx);
    if (component !== undefined) components.set(name, component);
  }
  const ctx = phaseCompileContext(flow, parsed, components, componentCtx);
  const rootScope = { available: new Set<string>(), inMap: false };
  const { phases, available } = compilePhaseList(flow.phases, 'phases', rootScope, ctx);
  const output = flow.output === undefined ? undefined : compileChecked(flow.output, 'output', { available, inMap: false }, ctx, []);
  // With problems reported, entries may lack a required key (parse-flow.ts): their other keys are still checked.
  const references: FlowReference[] = [...ctx.subflows];
  const dependsOn = ((flow.depends_on ?? []) as readonly Partial<Dependency>[]).flatMap((dependency, index) => {
    const input = dependency.input === undefined ? undefined : compileChecked(dependency.input, `depends_on[${index}].input`, rootScope, ctx, []);
    const correlationKey =
      dependency.correlation_key === undefined
        ? undefined
        : compileChecked(dependency.correlation_key, `depends_on[${index}].correlation_key`, rootScope, ctx, []);
    if (dependency.flow === undefined) return [];
    references.push({ target: dependency.flow, path: `depends_on[${index}].flow`, kind: 'depends_on' });
    return [{ flow: dependency.flow, input, withinMs: dependency.within_ms, correlationKey }];
  });
  const triggers = ((flow.triggers ?? []) as readonly Partial<Trigger>[]).flatMap((trigger, index) => {
    const input = trigger.input === undefined ? undefined : compileChecked(trigger.input, `triggers[${index}].input`, { available, inMap: false }, ctx, ['output']);
    if (trigger.flow === undefined) return [];
    references.push({ target: trigger.flow, path: `triggers[${index}].flow`, kind: 'trigger' });
    return [{ flow: trigger.flow, on: trigger.on ?? 'succeeded', input }];
  });
  const recoveryFlow = flow.recovery_flow as string | Partial<Exclude<Recovery, string>> | undefined;
  const recovery =
    recoveryFlow === undefined
      ? undefined
      : typeof recoveryFlow === 'string'
        ? { flow: recoveryFlow, on: undefined }
        : recoveryFlow.flow === undefined
          ? undefined
          : { flow: recoveryFlow.flow, on: recoveryFlow.on === undefined ? undefined : new Set(recoveryFlow.on) };
  if (recovery !== undefined) references.push({ target: recovery.flow, path: 'recovery_flow', kind: 'recovery' });
  const inputSchema = flow.input ?? { type: 'object' };
  const validateInput = parsed.failedFields.has('input') ? undefined : compileInputSchema(inputSchema, (path, message) => counted([path], message));
  // A schema with problems (reported above) still checks examples and schedule inputs where what it allows is sure.
  const checkInput = validateInput ?? (parsed.failedFields.has('input') ? undefined : salvagedInputValidator(inputSchema));
  if (checkInput !== undefined) {
    for (const [name, example] of Object.entries(flow.examples ?? {})) {
      for (const issue of checkInput(example) ?? []) counted([`examples.${name}${issue.path.slice('input'.length)}`], `example does not match the input schema: ${issue.message}`);
    }
  }
  const waits = collectWaits(phases, (path, message) => counted([path], message));
  if (waits.durable && flow.persistence === 'none') {
    counted(['persistence'], 'a flow that waits is stored while it waits (and resumed from the store): persistence "none" cannot apply; remove it, or set "all" or "failed"');
  }
  const schedules = compileSchedules(flow.schedules ?? [], checkInput, (path, message) => counted([path], message));
  if (issueCount > 0 || validateInput === undefined) {
    for (const component of components.values()) void component.instance.close?.();
    return { flow: undefined, references };
  }
  return {
    references,
    flow: {
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
      schedules,
      phaseIds: ctx.phaseIds,
      waits,
    },
  };
}

/** How phases find their components: declared ones, implicit adapters (transform, delay), or a reported typo. */
function phaseCompileContext(
  flow: FlowDefinition,
  parsed: ParsedFlow,
  components: Map<string, CompiledComponent>,
  componentCtx: ComponentCompileContext,
): PhaseCompileContext & { subflows: FlowReference[] } {
  const { adapters } = componentCtx;
  const declared = new Set(Object.keys(flow.components ?? {}));
  const implicitKinds = adapters.kinds().filter((kind) => adapters.get(kind)?.implicit === true);
  return {
    report: (path, message) => componentCtx.report([path], message),
    flowRetry: flow.defaults?.retry_policy,
    defaultCallTimeoutMs: flow.defaults?.timeout_ms ?? DEFAULT_CALL_TIMEOUT_MS,
    seenIds: new Set(),
    phaseIds: [],
    allIds: collectPhaseIds(flow.phases),
    subflows: [],
    component: (name, path) => {
      const existing = components.get(name);
      if (existing !== undefined) return existing;
      if (declared.has(name) || parsed.brokenComponents.has(name)) return undefined; // reported with the component
      if (adapters.get(name)?.implicit === true) {
        const implicit = compileComponent(name, { adapter: name }, flow, componentCtx);
        if (implicit !== undefined) components.set(name, implicit);
        return implicit;
      }
      const known = [...declared, ...implicitKinds];
      componentCtx.report([path], `unknown component "${name}"${didYouMean(name, known)}; declared: ${listNames(known)}`);
      return undefined;
    },
  };
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

