/**
 * One JSONata expression, compiled once at load.
 *
 * The missing-data rule (DESIGN "Missing data is loud"): an expression that evaluates to
 * `undefined` — JSONata's "no match", e.g. a path that is absent — is an error wherever it is
 * used: `evaluate` throws ExpressionError `<where>: expression "<source>" produced no value (a
 * path it reads is missing)`. It is never turned into null or dropped. A literal or computed
 * `null` is a value and stays `null`. Inside the expression JSONata's own semantics apply
 * unchanged: an object constructor drops members whose value is undefined, `&` treats an
 * undefined operand as '', `=` with an undefined operand is false.
 *
 * Expressions the fast path does not cover run in a worker thread that is terminated at its
 * deadline (isolation/), so no expression can stall the event loop.
 *
 * Results are plain JSON values (JSONata sequences become plain arrays, objects get an ordinary
 * prototype). A fast-path result may share structure with the scope (`input.items` returns the
 * scope's own array): treat results as immutable.
 */
import jsonata from 'jsonata';
import { ExpressionError } from '../errors.js';
import { installGuardHook } from './bounded-evaluation.js';
import { compileFast } from './fast/compile-fast.js';
import { FALLBACK, type Scope } from './fast/fallback.js';
import { syntaxError } from './jsonata-errors.js';
import { evaluateIsolated } from './isolation/isolated-evaluation.js';
import { getExpressionLimits, jsonataOptions } from './limits.js';
import { collectReferences } from './references.js';

export type { Scope } from './fast/fallback.js';

export interface CompiledExpression {
  /** The JSONata source (without the `{% %}` delimiters). */
  readonly source: string;
  /** Where the expression sits in the flow file, e.g. `phases[2].request.body.sku`. */
  readonly where: string;
  /** True when a plain-JavaScript equivalent was compiled (see fast/compile-fast.ts). */
  readonly fast: boolean;
  /** Phase ids read as `phases.X`. */
  readonly phaseRefs: ReadonlySet<string>;
  /** Top-level scope names read (`input`, `phases`, `item`…); `$` when the whole scope is read. */
  readonly rootRefs: ReadonlySet<string>;
  /**
   * Evaluates with `scope` as the JSONata input document. Returns the value synchronously when
   * the fast path applies, otherwise a Promise of it (test with isPromiseLike; typed `unknown`
   * because `unknown | Promise<unknown>` collapses to it anyway). Errors (ExpressionError) are thrown synchronously
   * on the fast path and rejected on the slow path, so callers should `await` inside a try.
   */
  evaluate(scope: Scope): unknown;
}

export function noValueError(where: string, source: string): ExpressionError {
  return new ExpressionError(
    `${where}: expression "${source}" produced no value (a path it reads is missing)`,
    { where, expression: source },
    { details: { reason: 'no-value' } },
  );
}

/** Parses `source` once. Throws ExpressionError naming `where`, JSONata's message and the character position on a syntax error. */
export function compileExpression(source: string, where: string): CompiledExpression {
  let expression: jsonata.Expression;
  try {
    expression = jsonata(source, jsonataOptions);
  } catch (error) {
    throw syntaxError(error, source, where);
  }
  installGuardHook(expression);
  const ast = expression.ast();
  const { phaseRefs, rootRefs } = collectReferences(ast);
  const fastFunction = compileFast(ast, {
    maxSequence: () => jsonataOptions.sequence,
    maxChars: () => getExpressionLimits().maxResultChars,
  });

  // Only the scope members the expression reads are copied to the worker (all when it reads `$`).
  const roots = rootRefs.has('$') ? undefined : [...rootRefs];
  const slow = async (scope: Scope): Promise<unknown> => {
    const value = await evaluateIsolated(expression, scope, where, source, roots);
    if (value === undefined) throw noValueError(where, source);
    return value;
  };

  const evaluate =
    fastFunction === undefined
      ? slow
      : (scope: Scope): unknown => {
          const value = fastFunction(scope);
          if (value === FALLBACK) return slow(scope);
          if (value === undefined) throw noValueError(where, source);
          return value;
        };

  return Object.freeze({ source, where, fast: fastFunction !== undefined, phaseRefs, rootRefs, evaluate });
}
