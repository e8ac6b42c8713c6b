/**
 * Runs a JSONata evaluation under time, depth and size bounds (SECURITY rule 3).
 *
 * JSONata 2 calls the functions bound to `Symbol.for('jsonata.__evaluate_entry')` and
 * `Symbol.for('jsonata.__evaluate_exit')` around every evaluation step. In jsonata 2.2 the
 * `bindings` argument of `evaluate()` cannot carry them: bindings are copied with `Object.keys`
 * (symbols are dropped) and a string-named binding would also be visible to the expression as a
 * `$variable`. So each compiled expression gets one shared *first-entry* hook, and that hook —
 * called synchronously inside `expression.evaluate()` with the evaluation's own root frame —
 * binds a fresh per-evaluation guard's hooks on that frame. Every later step of that evaluation
 * (nested frames, lambdas, `$eval`) finds the per-evaluation hooks first, so concurrent
 * evaluations never share state, and expressions cannot see the hooks (variables are looked up
 * by string name).
 *
 * The guard counts depth, measures time with performance.now() on every step (pauses not
 * counted, see checkTime), refuses oversized intermediate strings and arrays, and after `sliceMs`
 * of continuous work yields to the event loop (setImmediate) so a slow expression delays other
 * requests by about a slice at most.
 */
import type jsonata from 'jsonata';
import { ExpressionError } from '../errors.js';
import { evaluationError } from './jsonata-errors.js';
import { getExpressionLimits, type ExpressionLimits } from './limits.js';
import { sizeError, toPlainResult } from './result.js';

const ENTRY = Symbol.for('jsonata.__evaluate_entry');
const EXIT = Symbol.for('jsonata.__evaluate_exit');

type Limit = 'time' | 'depth' | 'size';

/**
 * A gap between two evaluation steps longer than this counts only this much towards the time
 * limit. One step of real work takes microseconds; under load, other requests' work interleaves
 * at every await, and with a 5 ms cap a ten-step expression could reach a 50 ms limit doing
 * nothing (seen in the benchmark soak). 0.5 ms keeps runaways (many short steps) counted in full.
 */
const PAUSE_MS = 0.5;

/**
 * What the hooks throw into JSONata. JSONata decorates errors passing through it (position,
 * token) and `$eval` wraps them, so the real ExpressionError is kept on the guard, untouched.
 */
class LimitReached {
  constructor(readonly message: string) {}
}

class Guard {
  /** Set once a limit is passed; every later step stops again, in case JSONata swallowed the first throw. */
  tripped: ExpressionError | undefined;
  private depth = 0;
  /** Evaluation time counted so far (see checkTime for what counts). */
  private activeMs = 0;
  private lastCheckAt: number;
  private sliceStartedAt: number;

  constructor(
    private readonly limits: ExpressionLimits,
    private readonly where: string,
    private readonly source: string,
  ) {
    this.lastCheckAt = performance.now();
    this.sliceStartedAt = this.lastCheckAt;
  }

  readonly entry = (): Promise<void> | undefined => {
    this.stopIfTripped();
    if (++this.depth > this.limits.maxDepth) {
      this.stop('depth', `exceeded its depth limit of ${this.limits.maxDepth} nested evaluation steps (runaway recursion?)`);
    }
    return this.checkTime();
  };

  readonly exit = (expr: unknown, _input: unknown, _environment: unknown, result: unknown): Promise<void> | undefined => {
    this.depth--;
    this.stopIfTripped();
    // Cheap O(1) checks on values the expression builds, so a string doubled in a loop is stopped
    // long before the final result walk (V8 concatenates lazily; the memory is spent when the string
    // is flattened). Values merely read or passed along (paths, variables, conditions, blocks) are
    // not checked: a large string already in the scope is not the expression's doing.
    if (!builds(expr)) return this.checkTime();
    if (typeof result === 'string' && result.length > this.limits.maxResultChars) {
      this.stop('size', `a string longer than ${this.limits.maxResultChars} characters`);
    }
    if (Array.isArray(result) && result.length > this.limits.maxResultNodes) {
      this.stop('size', `an array longer than ${this.limits.maxResultNodes} items`);
    }
    return this.checkTime();
  };

  /**
   * Counts time between consecutive steps, capping any single gap at PAUSE_MS: a longer gap is a
   * garbage-collection pause, the process being descheduled on a busy machine, or other requests'
   * work interleaved at an await — not this expression's doing, and counting it in full would fail
   * innocent expressions under load. A runaway is made of many short steps and is counted in full.
   *
   * Yields before enforcing the deadline, so an evaluation that used up its slice always lets the
   * event loop take a full turn (timers, I/O) before it continues or is stopped.
   */
  private checkTime(): Promise<void> | undefined {
    const now = performance.now();
    this.activeMs += Math.min(now - this.lastCheckAt, PAUSE_MS);
    this.lastCheckAt = now;
    if (now - this.sliceStartedAt >= this.limits.sliceMs) return this.yieldToEventLoop();
    this.checkDeadline();
    return undefined;
  }

  private checkDeadline(): void {
    if (this.activeMs > this.limits.timeoutMs) {
      this.stop('time', 'time limit');
    }
  }

  private async yieldToEventLoop(): Promise<void> {
    // An immediate queued from inside an immediate runs in the next loop iteration, after its
    // timers and I/O polling; one setImmediate alone may resume before timers get their turn.
    await new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve)));
    const resumedAt = performance.now();
    this.lastCheckAt = resumedAt; // time spent yielded is not the expression's
    this.sliceStartedAt = resumedAt;
    this.stopIfTripped();
    this.checkDeadline();
  }

  private stopIfTripped(): void {
    if (this.tripped !== undefined) throw new LimitReached(this.tripped.message);
  }

  private stop(limit: Limit, what: string): never {
    const context = { where: this.where, source: this.source };
    this.tripped =
      limit === 'size'
        ? sizeError(context, what)
        : limit === 'time'
          ? timeLimitError(this.where, this.source, this.limits.timeoutMs)
          : new ExpressionError(`${this.where}: expression "${this.source}" ${what}`, { where: this.where, expression: this.source }, {
              details: { limit },
            });
    throw new LimitReached(this.tripped.message);
  }
}

/** The error of an evaluation stopped at its time limit, by its guard or by terminating its worker. */
export function timeLimitError(where: string, source: string, timeoutMs: number): ExpressionError {
  return new ExpressionError(`${where}: expression "${source}" exceeded its ${timeoutMs} ms time limit`, { where, expression: source }, {
    details: { limit: 'time' },
  });
}

/** AST node types whose result is a value the expression built (operators, function calls, constructors). */
const BUILDING_NODES = new Set(['binary', 'unary', 'function', 'partial', 'apply', 'transform']);

function builds(expr: unknown): boolean {
  return expr !== null && typeof expr === 'object' && BUILDING_NODES.has(String((expr as { type?: unknown }).type));
}

/** The guard of the evaluation being started; claimed by the first-entry hook during the synchronous start of evaluate(). */
let starting: Guard | undefined;

function firstEntry(expr: unknown, input: unknown, environment: jsonata.Environment): Promise<void> | undefined {
  const guard = starting;
  starting = undefined;
  if (guard === undefined) {
    // Would mean jsonata no longer runs the first step synchronously; refuse rather than run unbounded.
    throw new Error('flowd: JSONata evaluation started without its guard');
  }
  environment.bind(ENTRY, guard.entry);
  environment.bind(EXIT, guard.exit);
  return guard.entry();
}

/** Installs the first-entry hook on a freshly compiled expression. */
export function installGuardHook(expression: jsonata.Expression): void {
  // assign() is typed for string names only, but JSONata looks the hook up by this symbol.
  expression.assign(ENTRY as unknown as string, firstEntry);
}

/**
 * Evaluates with `scope` as the input document under the current limits and returns a plain JSON
 * value (or undefined for "no match"). Rejects with ExpressionError naming `where` and `source`.
 */
export async function evaluateBounded(
  expression: jsonata.Expression,
  scope: Readonly<Record<string, unknown>>,
  where: string,
  source: string,
): Promise<unknown> {
  const limits = getExpressionLimits();
  const guard = new Guard(limits, where, source);
  starting = guard;
  let running: Promise<unknown>;
  try {
    running = expression.evaluate(scope) as Promise<unknown>;
  } finally {
    starting = undefined;
  }
  let raw: unknown;
  try {
    raw = await running;
  } catch (error) {
    throw guard.tripped ?? evaluationError(error, source, where);
  }
  return toPlainResult(raw, { where, source, limits });
}
