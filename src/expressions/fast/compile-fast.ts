/**
 * Compiles the common simple JSONata forms into plain synchronous functions at load
 * (DESIGN "Cost": JSONata's evaluate costs 4–15 µs even for `input.sku`).
 *
 * Covered (anything else returns undefined here and goes to JSONata):
 *   - paths of plain names, optionally starting with `$` or `$$`: `input.a.b`, `$.phases.x.body`
 *     (through arrays too: JSONata's mapping/flattening is ported in ./paths.ts);
 *   - `$` / `$$` alone; string, number, true/false/null literals;
 *   - `&`, `= !=`, `< <= > >=`, `+ - * / %`, unary `-`, `and`, `or`, `c ? a : b`, `( … ; … )`;
 *   - object constructors with distinct literal keys, array constructors;
 *   - one-argument calls of the built-ins in ./functions.ts (`$count(input.items)`, `$string(x)`…).
 * AST nodes are matched against an allow-list of properties, so a node JSONata decorated with
 * anything we don't model (predicates, grouping, `[]`, focus/index binding…) is not compiled.
 * Each operator returns FALLBACK where JSONata would raise an error, so errors always come
 * from JSONata itself.
 */
import { isJsonataFunction } from '../result.js';
import { FALLBACK, type FastFunction, type Scope } from './fallback.js';
import { BUILTINS } from './functions.js';
import { evaluateNamePath } from './paths.js';
import {
  jsonataArithmetic,
  jsonataBoolean,
  jsonataCompare,
  jsonataDeepEqual,
  jsonataString,
  type ArithmeticOperator,
  type ComparisonOperator,
} from './semantics.js';

type Node = Readonly<Record<string, unknown>>;

/**
 * Bounds the fast path keeps to, read at each evaluation (they can be reconfigured): beyond them the
 * bounded slow path would refuse the value, so the fast path falls back instead of answering.
 */
export interface FastLimits {
  /** Longest sequence the fast path may build; JSONata (with our `sequence` option) would refuse longer ones. */
  readonly maxSequence: () => number;
  /** Longest string a function call may build; the slow path's guard refuses longer ones. */
  readonly maxChars: () => number;
}

function isNode(value: unknown): value is Node {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && typeof (value as Node)['type'] === 'string';
}

function hasOnly(node: Node, allowed: readonly string[]): boolean {
  for (const key of Object.keys(node)) if (!allowed.includes(key)) return false;
  return true;
}

const LITERAL_KEYS = ['type', 'value', 'position'];
const BINARY_KEYS = ['type', 'value', 'position', 'lhs', 'rhs'];
const ARITHMETIC = new Set(['+', '-', '*', '/', '%']);
const COMPARISON = new Set(['<', '<=', '>', '>=']);
/** Keys JSONata refuses in object constructors (D1013), and one that a plain object cannot hold as data by assignment. */
const RESERVED_KEYS = new Set(['_jsonata_lambda', '_jsonata_function', '__proto__']);

/** Returns a fast function equivalent to the expression, or undefined when the form is not covered. */
export function compileFast(ast: unknown, limits: FastLimits): FastFunction | undefined {
  const { maxSequence } = limits;
  const compile = (node: unknown): FastFunction | undefined => {
    if (!isNode(node)) return undefined;
    switch (node['type']) {
      case 'string':
      case 'number':
      case 'value':
        return literal(node);
      case 'variable':
        return rootVariable(node) ? (scope) => scope : undefined;
      case 'path':
        return path(node, maxSequence);
      case 'binary':
        return binary(node, compile);
      case 'unary':
        return unary(node, compile, maxSequence);
      case 'condition':
        return condition(node, compile);
      case 'block':
        return block(node, compile);
      case 'function':
        return functionCall(node, compile, limits.maxChars);
      default:
        return undefined;
    }
  };
  return compile(ast);
}

function literal(node: Node): FastFunction | undefined {
  if (!hasOnly(node, LITERAL_KEYS)) return undefined;
  const value = node['value'];
  const ok =
    (node['type'] === 'string' && typeof value === 'string') ||
    (node['type'] === 'number' && typeof value === 'number' && Number.isFinite(value)) ||
    (node['type'] === 'value' && (value === true || value === false || value === null));
  return ok ? () => value : undefined;
}

/** `$` (the context, which is the scope everywhere in the forms we compile) and `$$` (the root, also the scope). */
function rootVariable(node: Node): boolean {
  return hasOnly(node, LITERAL_KEYS) && (node['value'] === '' || node['value'] === '$');
}

function path(node: Node, maxSequence: () => number): FastFunction | undefined {
  const steps = node['steps'];
  if (!hasOnly(node, ['type', 'steps', 'position']) || !Array.isArray(steps) || steps.length === 0) return undefined;
  const keys: string[] = [];
  for (let i = 0; i < steps.length; i++) {
    const step: unknown = steps[i];
    if (!isNode(step) || !hasOnly(step, LITERAL_KEYS)) return undefined;
    if (step['type'] === 'name' && typeof step['value'] === 'string') {
      keys.push(step['value']);
    } else if (i === 0 && step['type'] === 'variable' && rootVariable(step) && steps.length > 1) {
      // `$.a` / `$$.a`: starts from the scope, like a bare name does
    } else {
      return undefined;
    }
  }
  return (scope) => evaluateNamePath(scope, keys, maxSequence());
}

function binary(node: Node, compile: (n: unknown) => FastFunction | undefined): FastFunction | undefined {
  if (!hasOnly(node, BINARY_KEYS)) return undefined;
  const op = node['value'];
  const lhs = compile(node['lhs']);
  const rhs = compile(node['rhs']);
  if (lhs === undefined || rhs === undefined || typeof op !== 'string') return undefined;
  if (op === '&') {
    return (scope) => {
      const l = lhs(scope);
      if (l === FALLBACK) return FALLBACK;
      const r = rhs(scope);
      if (r === FALLBACK) return FALLBACK;
      const ls = l === undefined ? '' : jsonataString(l);
      const rs = r === undefined ? '' : jsonataString(r);
      return ls === FALLBACK || rs === FALLBACK ? FALLBACK : ls + rs;
    };
  }
  if (op === '=' || op === '!=') {
    const negate = op === '!=';
    return (scope) => {
      const l = lhs(scope);
      if (l === FALLBACK) return FALLBACK;
      const r = rhs(scope);
      if (r === FALLBACK) return FALLBACK;
      if (l === undefined || r === undefined) return false;
      const same = jsonataDeepEqual(l, r);
      return same === FALLBACK ? FALLBACK : same !== negate;
    };
  }
  if (COMPARISON.has(op)) {
    const cmp = op as ComparisonOperator;
    return (scope) => {
      const l = lhs(scope);
      if (l === FALLBACK) return FALLBACK;
      const r = rhs(scope);
      return r === FALLBACK ? FALLBACK : jsonataCompare(cmp, l, r);
    };
  }
  if (ARITHMETIC.has(op)) {
    const arith = op as ArithmeticOperator;
    return (scope) => {
      const l = lhs(scope);
      if (l === FALLBACK) return FALLBACK;
      const r = rhs(scope);
      return r === FALLBACK ? FALLBACK : jsonataArithmetic(arith, l, r);
    };
  }
  if (op === 'and' || op === 'or') {
    const isAnd = op === 'and';
    return (scope) => {
      const l = lhs(scope);
      if (l === FALLBACK) return FALLBACK;
      const lb = jsonataBoolean(l);
      if (lb === FALLBACK) return FALLBACK;
      // Short-circuit exactly as JSONata does: the right side is not evaluated at all.
      if (isAnd ? lb !== true : lb === true) return !isAnd;
      const r = rhs(scope);
      if (r === FALLBACK) return FALLBACK;
      const rb = jsonataBoolean(r);
      return rb === FALLBACK ? FALLBACK : rb === true;
    };
  }
  return undefined;
}

function unary(
  node: Node,
  compile: (n: unknown) => FastFunction | undefined,
  maxSequence: () => number,
): FastFunction | undefined {
  switch (node['value']) {
    case '-': {
      const operand = hasOnly(node, ['type', 'value', 'position', 'expression']) ? compile(node['expression']) : undefined;
      if (operand === undefined) return undefined;
      return (scope) => {
        const v = operand(scope);
        if (v === undefined || v === FALLBACK) return v;
        return typeof v === 'number' && Number.isFinite(v) ? -v : FALLBACK; // D1002 for non-numbers
      };
    }
    case '[':
      return arrayConstructor(node, compile, maxSequence);
    case '{':
      return objectConstructor(node, compile);
    default:
      return undefined;
  }
}

function arrayConstructor(
  node: Node,
  compile: (n: unknown) => FastFunction | undefined,
  maxSequence: () => number,
): FastFunction | undefined {
  const expressions = node['expressions'];
  if (!hasOnly(node, ['type', 'value', 'position', 'expressions']) || !Array.isArray(expressions)) return undefined;
  const items: { fn: FastFunction; nested: boolean }[] = [];
  for (const expression of expressions) {
    const fn = compile(expression);
    if (fn === undefined) return undefined;
    // JSONata keeps an item whose node value is '[' (a nested array constructor) as one item and
    // splices any other array value in (fn.append); the same test is mirrored here.
    items.push({ fn, nested: isNode(expression) && expression['value'] === '[' });
  }
  return (scope) => {
    const out: unknown[] = [];
    for (const item of items) {
      const value = item.fn(scope);
      if (value === FALLBACK) return FALLBACK;
      if (value === undefined) continue;
      if (!item.nested && Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) out.push(value[i]);
      } else {
        out.push(value);
      }
    }
    return out.length > maxSequence() ? FALLBACK : out;
  };
}

function objectConstructor(node: Node, compile: (n: unknown) => FastFunction | undefined): FastFunction | undefined {
  const pairs = node['lhs'];
  if (!hasOnly(node, ['type', 'value', 'position', 'lhs']) || !Array.isArray(pairs)) return undefined;
  const members: { key: string; fn: FastFunction }[] = [];
  const seen = new Set<string>();
  for (const pair of pairs) {
    if (!Array.isArray(pair) || pair.length !== 2) return undefined;
    const [keyNode, valueNode] = pair as [unknown, unknown];
    // Only literal keys; a repeated key is JSONata error D1009 at run time, so leave it to JSONata.
    if (!isNode(keyNode) || keyNode['type'] !== 'string' || !hasOnly(keyNode, LITERAL_KEYS)) return undefined;
    const key = keyNode['value'];
    if (typeof key !== 'string' || RESERVED_KEYS.has(key) || seen.has(key)) return undefined;
    seen.add(key);
    const fn = compile(valueNode);
    if (fn === undefined) return undefined;
    members.push({ key, fn });
  }
  return (scope) => {
    const out: Record<string, unknown> = {};
    for (const { key, fn } of members) {
      const value = fn(scope);
      if (value === FALLBACK) return FALLBACK;
      if (value !== undefined) out[key] = value; // JSONata drops members whose value is undefined
    }
    return out;
  };
}

function condition(node: Node, compile: (n: unknown) => FastFunction | undefined): FastFunction | undefined {
  if (!hasOnly(node, ['type', 'position', 'condition', 'then', 'else'])) return undefined;
  const test = compile(node['condition']);
  const then = compile(node['then']);
  const otherwise = node['else'] === undefined ? (): undefined => undefined : compile(node['else']);
  if (test === undefined || then === undefined || otherwise === undefined) return undefined;
  return (scope: Scope) => {
    const c = test(scope);
    if (c === FALLBACK) return FALLBACK;
    const b = jsonataBoolean(c);
    if (b === FALLBACK) return FALLBACK;
    return b === true ? then(scope) : otherwise(scope);
  };
}

function block(node: Node, compile: (n: unknown) => FastFunction | undefined): FastFunction | undefined {
  const expressions = node['expressions'];
  if (!hasOnly(node, ['type', 'position', 'expressions']) || !Array.isArray(expressions) || expressions.length === 0) {
    return undefined;
  }
  const fns: FastFunction[] = [];
  for (const expression of expressions) {
    const fn = compile(expression);
    if (fn === undefined) return undefined;
    fns.push(fn);
  }
  if (fns.length === 1) return fns[0];
  return (scope) => {
    let value: unknown;
    for (const fn of fns) {
      value = fn(scope);
      if (value === FALLBACK) return FALLBACK;
    }
    return value;
  };
}

/**
 * `$name(argument)` for a built-in of ./functions.ts. `$name` is always the built-in here: nothing
 * compiled can rebind it (`:=` and lambdas are not in the grammar, and flowd passes no bindings).
 */
function functionCall(
  node: Node,
  compile: (n: unknown) => FastFunction | undefined,
  maxChars: () => number,
): FastFunction | undefined {
  const procedure = node['procedure'];
  const args = node['arguments'];
  // JSONata's parser copies the token's `name` onto every call node; it is undefined for a plain call.
  if (!hasOnly(node, ['type', 'name', 'value', 'position', 'procedure', 'arguments']) || node['name'] !== undefined) return undefined;
  if (!Array.isArray(args) || args.length !== 1) return undefined; // `$string()` (the context), `$string(x, true)`… are left to JSONata
  if (!isNode(procedure) || procedure['type'] !== 'variable' || !hasOnly(procedure, LITERAL_KEYS)) return undefined;
  const name = procedure['value'];
  const builtin = typeof name === 'string' ? BUILTINS.get(name) : undefined;
  const argument = compile(args[0]);
  if (builtin === undefined || argument === undefined) return undefined;
  return (scope) => {
    const value = argument(scope);
    // JSONata hands a function argument over wrapped in a closure; none should reach here from JSON data.
    if (value === FALLBACK || isJsonataFunction(value)) return FALLBACK;
    const result = builtin(value);
    return typeof result === 'string' && result.length > maxChars() ? FALLBACK : result;
  };
}
