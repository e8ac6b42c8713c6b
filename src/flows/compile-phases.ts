import { ExpressionError } from '../errors.js';
import {
  compileExpression,
  compileTemplate,
  expressionSource,
  type CompiledExpression,
  type CompiledTemplate,
} from '../expressions/index.js';
import { resolveRetry } from '../engine/policies.js';
import type {
  CompiledBranch,
  CompiledComponent,
  CompiledPhase,
  RetrySettings,
} from './compiled.js';
import type { FlowReference } from './flow-references.js';
import { compileCallback, compileWait } from './compile-wait.js';
import { hasInvalidCallback, hasInvalidId, isBrokenPhase } from './parse-phases.js';
import type { PhaseDefinition, RetryPolicyDefinition } from './schema.js';
import { didYouMean, listNames } from './suggest.js';

export const DEFAULT_MAP_CONCURRENCY = 8;
export const DEFAULT_MAP_MAX_ITEMS = 1000;

/** Everything phase compilation needs from the flow around it; issues are collected, never thrown. */
export interface PhaseCompileContext {
  readonly report: (path: string, message: string) => void;
  readonly component: (name: string, path: string) => CompiledComponent | undefined;
  readonly flowRetry: RetryPolicyDefinition | undefined;
  readonly defaultCallTimeoutMs: number;
  readonly seenIds: Set<string>;
  readonly phaseIds: string[];
  /** Every phase id of the flow, nested ones included: tells a typo from a phase that runs later. */
  readonly allIds: ReadonlySet<string>;
  /** Sub-flow phases found, for the check of references between flows. */
  readonly subflows: FlowReference[];
}

/** Names visible to expressions at one point of the flow. */
interface Scope {
  /** Phase ids whose outputs may exist here. */
  readonly available: ReadonlySet<string>;
  readonly inMap: boolean;
  /** The phase the expression belongs to (visible to itself for decision loops; not listed in messages). */
  readonly self?: string;
}

/**
 * Compiles a list of phases. Returns the compiled list and the ids that may have run once
 * the list is done (for reference checks of what follows).
 */
export function compilePhaseList(
  definitions: readonly PhaseDefinition[],
  path: string,
  scope: Scope,
  ctx: PhaseCompileContext,
): { phases: CompiledPhase[]; available: Set<string> } {
  const available = new Set(scope.available);
  const phases: CompiledPhase[] = [];
  definitions.forEach((definition, index) => {
    const phasePath = `${path}[${index}]`;
    const compiled = compilePhase(definition, phasePath, { available, inMap: scope.inMap }, ctx, available);
    if (compiled !== undefined) phases.push(compiled);
  });
  // goto targets must be siblings of the decision that jumps
  const positions = new Map(definitions.map((definition, index) => [definition.id, index]));
  const siblings = definitions.flatMap((definition) => (definition.id === undefined ? [] : [definition.id]));
  phases.forEach((phase, index) => {
    if (phase.kind !== 'decision') return;
    phase.branches.forEach((branch, branchIndex) => {
      if (branch.goto === undefined) return;
      const target = positions.get(branch.goto);
      const where = `${phase.path}.decision[${branchIndex}].goto`;
      if (target === undefined) {
        ctx.report(where, `goto "${branch.goto}" must name a phase of the same list as the decision "${phase.id}"${didYouMean(branch.goto, siblings)}; phases of that list: ${listNames(siblings)}`);
      } else if (target <= index && branch.maxIterations === undefined) {
        ctx.report(where, `goto "${branch.goto}" loops back without a bound: set max_iterations`);
      }
    });
  });
  return { phases, available };
}

function compilePhase(
  definition: PhaseDefinition,
  path: string,
  scope: Scope,
  ctx: PhaseCompileContext,
  availableAfter: Set<string>,
): CompiledPhase | undefined {
  const id = definition.id;
  if (isBrokenPhase(definition)) {
    // Already reported while reading the file; only its id (when valid) is kept, for the checks after it.
    if (id !== undefined) {
      ctx.seenIds.add(id);
      availableAfter.add(id);
    }
    return undefined;
  }
  // A stand-in id (already reported) is neither a duplicate nor a name others can use.
  if (!hasInvalidId(definition)) {
    if (ctx.seenIds.has(id)) ctx.report(`${path}.id`, `duplicate phase id "${id}" (ids are unique across the flow, nested phases included)`);
    ctx.seenIds.add(id);
    ctx.phaseIds.push(id);
  }
  const description = definition.description;
  // A phase may read its own previous output: it exists when a decision loop runs the phase again.
  const selfScope = { available: new Set([...scope.available, id]), inMap: scope.inMap, self: id };
  const template = (value: unknown, where: string, extra: readonly string[] = []): CompiledTemplate | undefined =>
    compileChecked(value, where, selfScope, ctx, extra);

  let compiled: CompiledPhase | undefined;
  if ('component' in definition) {
    const component = ctx.component(definition.component, `${path}.component`);
    // A call that waits for its callback sends the callback's token or URL in its request.
    const request = template(definition.request, `${path}.request`, definition.callback === undefined && !hasInvalidCallback(definition) ? [] : ['callback']);
    for (const issue of component?.instance.checkRequest?.(definition.request) ?? []) ctx.report([`${path}.request`, ...issue.path].join('.'), issue.message);
    const output = definition.output === undefined ? undefined : template(definition.output, `${path}.output`, ['result', 'request']);
    const fallback =
      definition.on_error === undefined ? undefined : template(definition.on_error.fallback, `${path}.on_error.fallback`, ['error']);
    const cacheKey =
      definition.cache?.key === undefined ? undefined : template(definition.cache.key, `${path}.cache.key`);
    let compensate;
    if (definition.compensate !== undefined) {
      const compensation = definition.compensate;
      const target = ctx.component(compensation.component ?? definition.component, `${path}.compensate.component`);
      const compensationRequest = template(compensation.request, `${path}.compensate.request`, ['output', 'request']);
      for (const issue of target?.instance.checkRequest?.(compensation.request) ?? []) ctx.report([`${path}.compensate.request`, ...issue.path].join('.'), issue.message);
      if (target !== undefined && compensationRequest !== undefined) {
        compensate = {
          component: target,
          request: compensationRequest,
          timeoutMs: compensation.timeout_ms ?? target.timeoutMs,
          retry: resolveRetry(ctx.flowRetry, target.retryDefinition, compensation.retry_policy),
        };
      }
    }
    const waitContext = { report: ctx.report, expression: (source: string, where: string) => expression(source, where, scope, ctx), template: (value: unknown, where: string) => template(value, where) };
    const callback = definition.callback === undefined ? undefined : compileCallback(definition.callback, `${path}.callback`, waitContext);
    if (component !== undefined && request !== undefined && (definition.callback === undefined || callback !== undefined)) {
      const retry: RetrySettings = resolveRetry(ctx.flowRetry, component.retryDefinition, definition.retry_policy);
      compiled = {
        kind: 'call',
        id,
        description,
        path,
        component,
        request,
        output,
        attemptTimeoutMs: component.timeoutMs,
        timeoutMs: definition.timeout_ms,
        retry,
        cache: definition.cache === undefined ? undefined : { ttlMs: definition.cache.ttl_ms, key: cacheKey },
        fallback,
        compensate,
        callback,
      };
    }
  } else if ('decision' in definition) {
    const branches: CompiledBranch[] = [];
    const union = new Set<string>();
    definition.decision.forEach((branch, index) => {
      const where = `${path}.decision[${index}]`;
      const when = branch.when === undefined ? undefined : expression(branch.when, `${where}.when`, scope, ctx);
      const list = branch.otherwise ?? branch.phases ?? [];
      const inner = compilePhaseList(list, `${where}.${branch.otherwise === undefined ? 'phases' : 'otherwise'}`, scope, ctx);
      inner.available.forEach((name) => union.add(name));
      if (branch.otherwise !== undefined && index !== definition.decision.length - 1) {
        ctx.report(where, 'otherwise must be the last branch of a decision');
      }
      branches.push({
        label: branch.label ?? (branch.otherwise === undefined ? branch.when ?? `branch ${index}` : 'otherwise'),
        when,
        phases: inner.phases,
        goto: branch.goto,
        maxIterations: branch.max_iterations,
      });
    });
    union.forEach((name) => availableAfter.add(name));
    compiled = { kind: 'decision', id, description, path, branches };
  } else if ('parallel' in definition) {
    // Branches run concurrently: none sees another's phases, so the union is added only after all.
    const ran = new Set<string>();
    const branches = Object.entries(definition.parallel).map(([name, list]) => {
      const inner = compilePhaseList(list, `${path}.parallel.${name}`, scope, ctx);
      inner.available.forEach((id) => ran.add(id));
      return { name, phases: inner.phases };
    });
    ran.forEach((id) => availableAfter.add(id));
    if (branches.length === 0) ctx.report(`${path}.parallel`, 'a parallel block needs at least one branch');
    compiled = { kind: 'parallel', id, description, path, branches };
  } else if ('map' in definition) {
    // Left out when invalid (reported while reading): the map's phases are still checked.
    const items = definition.map.items === undefined ? undefined : expression(definition.map.items, `${path}.map.items`, scope, ctx);
    const innerScope = { available: scope.available, inMap: true };
    const inner = compilePhaseList(definition.map.phases, `${path}.map.phases`, innerScope, ctx);
    const output =
      definition.map.output === undefined
        ? undefined
        : compileChecked(definition.map.output, `${path}.map.output`, { available: inner.available, inMap: true }, ctx, []);
    if (items !== undefined) {
      compiled = {
        kind: 'map',
        id,
        description,
        path,
        items,
        concurrency: definition.map.concurrency ?? DEFAULT_MAP_CONCURRENCY,
        maxItems: definition.map.max_items ?? DEFAULT_MAP_MAX_ITEMS,
        phases: inner.phases,
        output,
      };
    }
  } else if ('wait' in definition) {
    compiled = compileWait(definition, path, {
      report: ctx.report,
      expression: (source, where) => expression(source, where, scope, ctx),
      template: (value, where) => template(value, where),
    });
  } else {
    const input = definition.input === undefined ? undefined : template(definition.input, `${path}.input`);
    const output = definition.output === undefined ? undefined : template(definition.output, `${path}.output`, ['result']);
    ctx.subflows.push({ target: definition.flow, path: `${path}.flow`, kind: 'subflow' });
    compiled = { kind: 'subflow', id, description, path, flow: definition.flow, input, output };
  }
  if (!hasInvalidId(definition)) availableAfter.add(id);
  return compiled;
}

function expression(source: string, where: string, scope: Scope, ctx: PhaseCompileContext): CompiledExpression | undefined {
  try {
    // `when` and `map.items` are always expressions: the {% %} delimiters are optional there.
    const compiled = compileExpression(expressionSource(source, where) ?? source, where);
    checkReferences(compiled.phaseRefs, compiled.rootRefs, where, scope, ctx, []);
    return compiled;
  } catch (error) {
    reportExpressionError(error, where, ctx);
    return undefined;
  }
}

/** An expression problem at load, reported at the expression's own location, without repeating it in the message. */
function reportExpressionError(error: unknown, where: string, ctx: { report: (path: string, message: string) => void }): void {
  if (!(error instanceof ExpressionError)) throw error;
  const at = error.where ?? where;
  const prefix = `${at}: `;
  ctx.report(at, error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message);
}

export function compileChecked(
  value: unknown,
  where: string,
  scope: Scope,
  ctx: ReferenceContext,
  extraRoots: readonly string[],
): CompiledTemplate | undefined {
  try {
    const compiled = compileTemplate(value, where);
    checkReferences(compiled.phaseRefs, compiled.rootRefs, where, scope, ctx, extraRoots);
    return compiled;
  } catch (error) {
    reportExpressionError(error, where, ctx);
    return undefined;
  }
}

const ALWAYS_VISIBLE = new Set(['input', 'phases', 'execution', 'deps', '$']);

function checkReferences(
  phaseRefs: ReadonlySet<string>,
  rootRefs: ReadonlySet<string>,
  where: string,
  scope: Scope,
  ctx: ReferenceContext,
  extraRoots: readonly string[],
): void {
  const ran = (): string => listNames([...scope.available].filter((id) => id !== scope.self).sort());
  for (const ref of phaseRefs) {
    if (scope.available.has(ref)) continue;
    if (ctx.allIds === undefined || ctx.allIds.has(ref)) {
      ctx.report(where, `references phases.${ref}, which has not run at this point (it comes later, or in another branch); phases that have run here: ${ran()}`);
    } else {
      ctx.report(where, `references phases.${ref}, but no phase has the id "${ref}"${didYouMean(ref, ctx.allIds)}; phases that have run here: ${ran()}`);
    }
  }
  for (const root of rootRefs) {
    if (ALWAYS_VISIBLE.has(root) || extraRoots.includes(root)) continue;
    if ((root === 'item' || root === 'index') && scope.inMap) continue;
    const visible = [...ALWAYS_VISIBLE, ...extraRoots, ...(scope.inMap ? ['item', 'index'] : [])].filter((name) => name !== '$');
    ctx.report(where, `"${root}" is not visible here${didYouMean(root, visible)}; expressions here see: ${visible.join(', ')}`);
  }
}

interface ReferenceContext {
  readonly report: (path: string, message: string) => void;
  readonly allIds?: ReadonlySet<string>;
}

/** Every phase id in a list of definitions, nested phases included. */
export function collectPhaseIds(definitions: readonly PhaseDefinition[], into = new Set<string>()): Set<string> {
  for (const definition of definitions) {
    if (definition.id !== undefined && !hasInvalidId(definition)) into.add(definition.id);
    if ('decision' in definition) definition.decision.forEach((branch) => collectPhaseIds(branch.otherwise ?? branch.phases ?? [], into));
    else if ('parallel' in definition) Object.values(definition.parallel).forEach((list) => collectPhaseIds(list, into));
    else if ('map' in definition) collectPhaseIds(definition.map.phases, into);
  }
  return into;
}
