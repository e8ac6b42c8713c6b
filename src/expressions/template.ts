/**
 * Templates: flow-file values (YAML/JSON) in which any string that is exactly `{% <jsonata> %}`
 * is an expression and everything else is a literal. Compiled once at load; `evaluate` builds a
 * fresh result per call and reuses static parts (and a wholly static template) as they are.
 *
 * The missing-data rule applies to every expression inside: one that produces no value makes
 * `evaluate` fail with ExpressionError naming its location (`phases[0].request.path`) and source.
 * The key is never dropped and never becomes null.
 */
import { compileExpression, type CompiledExpression, type Scope } from './compile-expression.js';
import { expressionSource } from './delimiters.js';
import { childLocation } from './location.js';
import { isPromiseLike } from './promise.js';

export interface CompiledTemplate {
  /** No expressions at all: evaluate returns the original value itself, not a copy. */
  readonly static: boolean;
  readonly expressions: readonly CompiledExpression[];
  readonly phaseRefs: ReadonlySet<string>;
  readonly rootRefs: ReadonlySet<string>;
  /** The value, synchronously when every expression inside took its fast path for this scope, else a Promise of it. */
  evaluate(scope: Scope): unknown;
}

/** Evaluates one template node: a value or a promise of one. */
type Evaluator = (scope: Scope) => unknown;

function isPlainObject(value: object): value is Record<string, unknown> {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

export function compileTemplate(value: unknown, where: string): CompiledTemplate {
  const expressions: CompiledExpression[] = [];
  const evaluator = compileNode(value, where, expressions);
  const phaseRefs = new Set<string>();
  const rootRefs = new Set<string>();
  for (const expression of expressions) {
    for (const id of expression.phaseRefs) phaseRefs.add(id);
    for (const name of expression.rootRefs) rootRefs.add(name);
  }
  return Object.freeze({
    static: evaluator === undefined,
    expressions: Object.freeze(expressions),
    phaseRefs,
    rootRefs,
    evaluate: evaluator ?? ((): unknown => value),
  });
}

/** Convenience for callers that don't care about the synchronous case. */
export async function evaluateTemplate(template: CompiledTemplate, scope: Scope): Promise<unknown> {
  return await template.evaluate(scope);
}

/** Returns undefined for a static node (its value is used as it is). */
function compileNode(value: unknown, where: string, expressions: CompiledExpression[]): Evaluator | undefined {
  if (typeof value === 'string') {
    const source = expressionSource(value, where);
    if (source === undefined) return undefined;
    const expression = compileExpression(source, where);
    expressions.push(expression);
    return (scope) => expression.evaluate(scope);
  }
  if (value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    const items: unknown[] = value;
    const children = items.map((item, i) => compileNode(item, childLocation(where, i), expressions));
    if (children.every((child) => child === undefined)) return undefined;
    return (scope) => evaluateChildren(children, items, scope, (values) => values);
  }
  if (!isPlainObject(value)) return undefined; // not something YAML/JSON produce: treat as a literal
  const keys = Object.keys(value);
  const statics = keys.map((key) => value[key]);
  const children = keys.map((key, i) => compileNode(statics[i], childLocation(where, key), expressions));
  if (children.every((child) => child === undefined)) return undefined;
  return (scope) => evaluateChildren(children, statics, scope, (values) => buildObject(keys, values));
}

function buildObject(keys: readonly string[], values: readonly unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    if (key === '__proto__') {
      // Keep it an own data property (as in the flow file) instead of replacing the prototype.
      Object.defineProperty(out, key, { value: values[i], enumerable: true, writable: true, configurable: true });
    } else {
      out[key] = values[i];
    }
  }
  return out;
}

/**
 * Evaluates the children in order; static ones contribute their literal value. Stays synchronous
 * unless a child returned a promise. If a child throws synchronously after earlier children
 * started promises, those promises get a no-op handler so their failure is not an unhandled
 * rejection (which would take the process down).
 */
function evaluateChildren(
  children: readonly (Evaluator | undefined)[],
  statics: readonly unknown[],
  scope: Scope,
  build: (values: unknown[]) => unknown,
): unknown {
  const values: unknown[] = new Array<unknown>(children.length);
  let pending: PromiseLike<unknown>[] | undefined;
  try {
    for (let i = 0; i < children.length; i++) {
      const child = children[i];
      const value = child === undefined ? statics[i] : child(scope);
      if (child !== undefined && isPromiseLike(value)) (pending ??= []).push(value);
      values[i] = value;
    }
  } catch (error) {
    if (pending !== undefined) for (const promise of pending) promise.then(undefined, () => undefined);
    throw error;
  }
  if (pending === undefined) return build(values);
  return Promise.all(values).then(build);
}
