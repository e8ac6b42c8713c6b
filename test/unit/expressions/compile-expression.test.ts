import { describe, expect, it } from 'vitest';
import { ExpressionError } from '../../../src/errors.js';
import { compileExpression, expressionSource, isPromiseLike } from '../../../src/expressions/index.js';

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

async function rejection(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('compileExpression: syntax errors', () => {
  it('throws an ExpressionError naming the location, JSONata message, code and character position', () => {
    const error = caught(() => compileExpression("'/c/' & input.", 'phases[2].request.body.sku'));
    expect(error).toBeInstanceOf(ExpressionError);
    const e = error as ExpressionError;
    expect(e.code).toBe('FLOWD_ERR_EXPRESSION_FAILED');
    expect(e.message).toContain('phases[2].request.body.sku');
    expect(e.message).toContain('Unexpected end of expression');
    expect(e.message).toContain('S0207');
    expect(e.message).toMatch(/syntax error at character 15 of the expression/);
    // The expression with a caret under the place JSONata stopped (here: after the final dot).
    expect(e.message.split('\n').slice(1)).toEqual(["    '/c/' & input.", '                  ^']);
    expect(e.where).toBe('phases[2].request.body.sku');
    expect(e.expression).toBe("'/c/' & input.");
    expect(e.details).toMatchObject({ jsonataCode: 'S0207', position: 14 });
  });

  it('reports an unterminated string literal', () => {
    expect(() => compileExpression('"abc', 'output')).toThrow(/^output: syntax error at character 5 of the expression: String literal must be terminated by a matching quote \(JSONata S0101\)\n {4}"abc\n {8}\^$/);
  });
});

describe('compileExpression: references', () => {
  it('collects phase ids read as phases.X, $.phases.X and $$.phases.X', () => {
    const e = compileExpression("phases.customer.tier = 'gold' and $.phases.reserve.body.id and $$.phases.`charge-1`", 'w');
    expect([...e.phaseRefs].sort()).toEqual(['charge-1', 'customer', 'reserve']);
    expect([...e.rootRefs]).toEqual(['phases']);
  });

  it('collects the top-level names an expression reads, including inside functions and lambda bodies', () => {
    const e = compileExpression(
      "$map(input.items, function($i){ $i.sku & item.x & execution.id }) ~> $join(error.message & deps.verify.ok)",
      'w',
    );
    expect([...e.rootRefs].sort()).toEqual(['deps', 'error', 'execution', 'input', 'item']);
  });

  it('does not count names evaluated against other values (later steps, predicates, sort terms, grouping)', () => {
    const e = compileExpression('input.items[qty > index].sku^(price){ phases: result }', 'w');
    expect([...e.rootRefs]).toEqual(['input']);
    expect(e.phaseRefs.size).toBe(0);
  });

  it('marks reads of the whole scope with $', () => {
    expect([...compileExpression('$keys($)', 'w').rootRefs]).toEqual(['$']);
    expect([...compileExpression('**.id', 'w').rootRefs]).toEqual(['$']);
    expect([...compileExpression('input.items[$.sku = "a"]', 'w').rootRefs]).toEqual(['input']);
  });

  it('marks a top-level call that fills a left-out argument with the context (the whole scope) with $, and $eval', () => {
    for (const source of ['$keys()', '$string()', "$lookup('input')", '$sift(function($v){ $v })', '$each(function($v){ $v })', "$eval('1')"]) {
      expect([...compileExpression(source, 'w').rootRefs], source).toContain('$');
    }
    // A context reader passed around as a value may be called that way later.
    expect([...compileExpression('$map(input.items, $keys)', 'w').rootRefs]).toContain('$');
    // With its argument given, or called where the context is something else, it reads only that.
    expect([...compileExpression("$string(input.a) & $keys(input.b)[0] & $lookup(input.c, 'd')", 'w').rootRefs]).toEqual(['input']);
    expect([...compileExpression('input.items.$keys()', 'w').rootRefs]).toEqual(['input']);
  });

  it('evaluates such a call against the whole scope (it is copied whole to the worker)', async () => {
    expect(await compileExpression('$keys()', 'w').evaluate({ input: { a: 1 }, phases: {} })).toEqual(['input', 'phases']);
    expect(await compileExpression("$lookup('phases')", 'w').evaluate({ input: { a: 1 }, phases: { p: 1 } })).toEqual({ p: 1 });
  });

  it('reports a dynamic phase access as phases with no id', () => {
    const e = compileExpression("$lookup(phases, 'x' & input.id)", 'w');
    expect([...e.rootRefs].sort()).toEqual(['input', 'phases']);
    expect(e.phaseRefs.size).toBe(0);
  });
});

describe('compileExpression: evaluate', () => {
  const scope = { input: { customer_id: 'c-42', items: [{ sku: 'A', qty: 2 }, { sku: 'B', qty: 1 }], none: null } };

  it('reads the scope as the JSONata input document', () => {
    expect(compileExpression('input.customer_id', 'w').evaluate(scope)).toBe('c-42');
  });

  it('returns a plain value synchronously on the fast path and a Promise otherwise', async () => {
    const fast = compileExpression("'/customers/' & input.customer_id", 'w');
    const slow = compileExpression('$sum(input.items.(qty))', 'w');
    expect(fast.fast).toBe(true);
    expect(slow.fast).toBe(false);
    expect(fast.evaluate(scope)).toBe('/customers/c-42');
    const pending = slow.evaluate(scope);
    expect(isPromiseLike(pending)).toBe(true);
    expect(await pending).toBe(3);
  });

  it('returns JSONata sequences as plain arrays', async () => {
    const value = await compileExpression('input.items[qty > 0].sku', 'w').evaluate(scope);
    expect(Array.isArray(value)).toBe(true);
    expect(Object.keys(value as object)).toEqual(['0', '1']);
    expect((value as { sequence?: unknown }).sequence).toBeUndefined();
    expect(value).toEqual(['A', 'B']);
  });

  it('returns objects with an ordinary prototype (JSONata builds them with none)', async () => {
    const value = await compileExpression("$merge([{ 'a': 1 }, { 'b': $count(input.items) }])", 'w').evaluate(scope);
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(value).toEqual({ a: 1, b: 2 });
  });
});

describe('compileExpression: the missing-data rule', () => {
  const scope = { input: { customer_id: 'c-42', none: null } };

  it('throws when a fast expression produces no value, naming location and source', () => {
    const error = caught(() => compileExpression('input.idd', 'phases[0].request.path').evaluate(scope));
    expect(error).toBeInstanceOf(ExpressionError);
    expect((error as Error).message).toBe(
      'phases[0].request.path: expression "input.idd" produced no value (a path it reads is missing)',
    );
    expect(error).toMatchObject({ where: 'phases[0].request.path', expression: 'input.idd', details: { reason: 'no-value' } });
  });

  it('rejects when a JSONata-evaluated expression produces no value', async () => {
    const error = await rejection(() => compileExpression('$lookup(input, "idd")', 'phases[0].when').evaluate(scope));
    expect((error as Error).message).toBe(
      'phases[0].when: expression "$lookup(input, "idd")" produced no value (a path it reads is missing)',
    );
  });

  it('keeps a literal or read null as null', async () => {
    expect(compileExpression('null', 'w').evaluate(scope)).toBeNull();
    expect(compileExpression('input.none', 'w').evaluate(scope)).toBeNull();
    expect(await compileExpression('$lookup(input, "none")', 'w').evaluate(scope)).toBeNull();
  });

  it('leaves JSONata semantics inside the expression alone: & treats a missing operand as empty text', () => {
    expect(compileExpression("'/c/' & input.idd", 'w').evaluate(scope)).toBe('/c/');
  });

  it('leaves JSONata semantics inside the expression alone: an object constructor drops a missing member', () => {
    expect(compileExpression("{ 'id': input.customer_id, 'x': input.idd }", 'w').evaluate(scope)).toEqual({ id: 'c-42' });
  });
});

describe('expressionSource: recognising expression strings', () => {
  it('returns the trimmed JSONata source of a string that is exactly one {% %} expression', () => {
    expect(expressionSource('{% input.id %}', 'w')).toBe('input.id');
    expect(expressionSource('{%input.id%}', 'w')).toBe('input.id');
    expect(expressionSource("{%\n  { 'a': 1 }\n%}\n", 'w')).toBe("{ 'a': 1 }");
  });

  it('treats any other string as a literal', () => {
    for (const literal of ['plain', '', '100%', '{ not an expression }', '50% {%']) {
      expect(expressionSource(literal, 'w')).toBeUndefined();
    }
  });

  it('refuses text mixed with an expression and tells the author to use & inside one expression', () => {
    for (const mixed of ['/customers/{% input.id %}', '{% a %}-{% b %}', 'x {% a %} y']) {
      const error = caught(() => expressionSource(mixed, 'phases[0].request.path'));
      expect(error).toBeInstanceOf(ExpressionError);
      expect((error as Error).message).toContain('phases[0].request.path');
      expect((error as Error).message).toContain('&');
    }
  });

  it('refuses an empty or unterminated expression', () => {
    expect(() => expressionSource('{%   %}', 'w')).toThrow(/empty expression/);
    expect(() => expressionSource('{% input.id', 'w')).toThrow(/no closing/);
  });
});
