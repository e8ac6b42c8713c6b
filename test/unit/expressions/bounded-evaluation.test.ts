import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigurationError, ExpressionError } from '../../../src/errors.js';
import {
  DEFAULT_EXPRESSION_LIMITS,
  compileExpression,
  getExpressionLimits,
  resetExpressionLimits,
  setExpressionLimits,
} from '../../../src/expressions/index.js';

const FOREVER = '($f := function($n){ $f($n + 1) }; $f(0))'; // a tail call: JSONata loops without growing depth
const DEEP = '($f := function($n){ $n = 0 ? 0 : 1 + $f($n - 1) }; $f(100000))';

async function failure(source: string, scope: Record<string, unknown> = {}, where = 'w'): Promise<ExpressionError> {
  try {
    await compileExpression(source, where).evaluate(scope);
  } catch (error) {
    expect(error).toBeInstanceOf(ExpressionError);
    return error as ExpressionError;
  }
  throw new Error(`expected ${source} to fail`);
}

afterEach(() => {
  resetExpressionLimits();
});

describe('expression limits: configuration', () => {
  it('defaults to 50 ms, depth 200, 100 000 values and 1 MiB of text', () => {
    expect(getExpressionLimits()).toEqual(DEFAULT_EXPRESSION_LIMITS);
    expect(DEFAULT_EXPRESSION_LIMITS).toMatchObject({ timeoutMs: 50, maxDepth: 200, maxResultNodes: 100_000, maxResultChars: 1_048_576 });
  });

  it('changes only the limits given', () => {
    setExpressionLimits({ timeoutMs: 20 });
    expect(getExpressionLimits()).toEqual({ ...DEFAULT_EXPRESSION_LIMITS, timeoutMs: 20 });
  });

  it('refuses a non-positive or non-finite limit with a ConfigurationError and keeps the old value', () => {
    expect(() => setExpressionLimits({ maxDepth: 0 })).toThrow(ConfigurationError);
    expect(() => setExpressionLimits({ timeoutMs: Number.POSITIVE_INFINITY })).toThrow(/expressions\.timeoutMs/);
    expect(getExpressionLimits()).toEqual(DEFAULT_EXPRESSION_LIMITS);
  });
});

describe('expression limits: time', () => {
  it('stops a runaway loop with an error naming the time limit', async () => {
    const error = await failure(FOREVER, {}, 'phases[4].output');
    expect(error.message).toBe(`phases[4].output: expression "${FOREVER}" exceeded its 50 ms time limit`);
    expect(error.details).toMatchObject({ limit: 'time' });
  });

  it('applies inside $eval too, reporting the limit rather than $eval\'s wrapper error', async () => {
    const error = await failure(`$eval("${FOREVER}")`);
    expect(error.message).toMatch(/exceeded its 50 ms time limit$/);
    expect(error).not.toHaveProperty('position');
    expect(error).not.toHaveProperty('token');
    expect((await failure('$eval("[1..10000000]")')).message).toContain('a sequence longer than 100000 items');
  });

  it('uses the configured time limit', async () => {
    setExpressionLimits({ timeoutMs: 15 });
    expect((await failure(FOREVER)).message).toContain('exceeded its 15 ms time limit');
  });

  it('lets timers run while a runaway expression is being evaluated, and ends it soon after the limit', async () => {
    const events: string[] = [];
    setTimeout(() => events.push('timer'), 0);
    const started = performance.now();
    const error = await failure(FOREVER);
    events.push('error');
    expect(error.message).toContain('time limit');
    // The timer fired before the evaluation ended: the event loop was never blocked for the whole evaluation.
    expect(events).toEqual(['timer', 'error']);
    expect(performance.now() - started).toBeLessThan(3000); // generous: only proves it was stopped
  });

  it('stops a mapping over a large range by time or size', async () => {
    const error = await failure('$sum([1..10000000].($ * 2))');
    expect(error.message).toMatch(/time limit|size limit/);
  });

  it('does not let a runaway evaluation affect a concurrent one', async () => {
    const runaway = compileExpression(FOREVER, 'a');
    const normal = compileExpression('$sum(input.list) + $count(input.list)', 'b');
    const [bad, good] = await Promise.allSettled([runaway.evaluate({}), normal.evaluate({ input: { list: [1, 2, 3] } })]);
    expect(bad.status).toBe('rejected');
    expect(good).toEqual({ status: 'fulfilled', value: 9 });
    if (bad.status === 'rejected') expect(String((bad.reason as Error).message)).toMatch(/^a: .*time limit/);
  });
});

describe('expression limits: depth', () => {
  it('stops runaway recursion with an error naming the depth limit', async () => {
    const error = await failure(DEEP);
    expect(error.message).toContain('exceeded its depth limit of 200 nested evaluation steps');
    expect(error.details).toMatchObject({ limit: 'depth' });
  });

  it('allows moderate recursion', async () => {
    expect(await compileExpression('($f := function($n){ $n = 0 ? 0 : 1 + $f($n - 1) }; $f(20))', 'w').evaluate({})).toBe(20);
  });

  it('uses the configured depth limit', async () => {
    setExpressionLimits({ maxDepth: 10 });
    expect((await failure('($f := function($n){ $n = 0 ? 0 : 1 + $f($n - 1) }; $f(20))')).message).toContain('depth limit of 10');
  });
});

describe('expression limits: size', () => {
  // Building these values takes tens of ms on a loaded machine: a generous time limit lets the size
  // limit, which these tests are about, be the one that stops them (afterEach resets the limits).
  beforeEach(() => {
    setExpressionLimits({ timeoutMs: 5000 });
  });

  it('stops a string doubled in a loop as soon as it passes the text limit', async () => {
    const error = await failure("($f := function($s, $n){ $n = 0 ? $s : $f($s & $s, $n - 1) }; $f('0123456789', 40))");
    expect(error.message).toContain('exceeded its result size limit (a string longer than 1048576 characters)');
    expect(error.details).toMatchObject({ limit: 'size' });
  });

  it('stops $string from building a giant string', async () => {
    const error = await failure("$string($map([1..4], function($i){ $pad('', 300000, 'x') }))");
    expect(error.message).toContain('exceeded its result size limit (a string longer than 1048576 characters)');
  });

  it('stops a single built-in call that returns a giant string', async () => {
    expect((await failure("$pad('', 2000000)")).message).toContain('result size limit');
  });

  it('refuses a range longer than the sequence limit before allocating it', async () => {
    const error = await failure('[1..10000000]');
    expect(error.message).toContain('exceeded its result size limit (a sequence longer than 100000 items)');
  });

  it('refuses a result with too many values', async () => {
    setExpressionLimits({ maxResultNodes: 50 });
    const error = await failure('$map([1..10], function($i){ { "a": [$i, $i, $i], "b": $i } })');
    expect(error.message).toContain('exceeded its result size limit (more than 50 values)');
  });

  it('refuses a result with too much text in total', async () => {
    setExpressionLimits({ maxResultChars: 100 });
    const error = await failure('$map([1..10], function($i){ $pad("", 20, "x") })');
    expect(error.message).toContain('exceeded its result size limit (more than 100 characters of text)');
  });

  it('lets an expression read a scope string larger than the text limit without building one', async () => {
    // JSONata's $length and $substring split a string into code points: ~0.2 s each for 2 MB, so
    // this test gives the expression time; what it checks is the size limit.
    setExpressionLimits({ timeoutMs: 10_000 });
    const big = 'x'.repeat(2_000_000);
    const compiled = compileExpression('$length(input.big) & ":" & $substring(input.big, 0, 3)', 'w');
    expect(await compiled.evaluate({ input: { big } })).toBe('2000000:xxx');
  });

  it('still refuses a result that is larger than the text limit, even if read from the scope', async () => {
    const error = await failure('($b := input.big; $b)', { input: { big: 'x'.repeat(2_000_000) } });
    expect(error.message).toContain('exceeded its result size limit (more than 1048576 characters of text)');
  });

  it('returns results within the limits unchanged', async () => {
    const value = await compileExpression('$map([1..3], function($i){ { "n": $i, "s": $string($i) } })', 'w').evaluate({});
    expect(value).toEqual([
      { n: 1, s: '1' },
      { n: 2, s: '2' },
      { n: 3, s: '3' },
    ]);
  });
});
