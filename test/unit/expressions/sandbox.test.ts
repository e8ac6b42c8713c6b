/**
 * Expressions see the scope document and JSONata's built-in functions, nothing else.
 * What JSONata does with JavaScript internals, as verified here:
 *   - path steps read own properties only (`hasOwnProperty`), so `constructor`, `__proto__`,
 *     `toString`, `hasOwnProperty` are simply absent (undefined → the missing-data error);
 *   - functions are values JSONata can return (`$sum`, lambdas, regexes); flowd refuses any
 *     result containing one, so no function escapes to the caller;
 *   - object constructors and `$merge` build objects with a null prototype, where `__proto__` is
 *     an ordinary key; flowd's result copy keeps it an own data property.
 */
import { describe, expect, it } from 'vitest';
import { ExpressionError } from '../../../src/errors.js';
import { compileExpression } from '../../../src/expressions/index.js';

const scope = { input: { id: 'c-1', list: [1, 2] } };

async function outcome(source: string): Promise<{ value: unknown } | { error: ExpressionError }> {
  try {
    return { value: await compileExpression(source, 'w').evaluate(scope) };
  } catch (error) {
    expect(error).toBeInstanceOf(ExpressionError);
    return { error: error as ExpressionError };
  }
}

describe('expression sandbox', () => {
  for (const source of [
    '$.constructor',
    'input.constructor',
    'input.__proto__',
    'input.constructor.constructor',
    'input.toString',
    'input.hasOwnProperty',
    'input.list.length',
    'input.id.length',
    '$lookup(input, "constructor")',
    '$eval("$.constructor")',
    '$eval("input.__proto__")',
    '$sum.implementation',
    '$process',
    '$env',
    '$require',
    '$global',
    '$this',
  ]) {
    it(`finds nothing at ${source}`, async () => {
      const result = await outcome(source);
      expect(result).toHaveProperty('error');
      if ('error' in result) expect(result.error.message).toContain('produced no value');
    });
  }

  it('cannot call anything that is not a JSONata built-in', async () => {
    for (const source of ['$require("fs")', '$process.exit(1)', '$$.constructor.constructor("return process")()']) {
      const result = await outcome(source);
      expect(result, source).toHaveProperty('error');
    }
  });

  it('lists only the scope document own keys', async () => {
    expect(await outcome('$keys($)')).toEqual({ value: 'input' });
    expect(await outcome('$keys(input)')).toEqual({ value: ['id', 'list'] });
  });

  for (const source of ['$sum', 'function($x){ $x }', '/ab+c/', "{ 'f': $string }", '[1, $uppercase]', '$eval("$sum")']) {
    it(`refuses to hand a function value out of the sandbox: ${source}`, async () => {
      const result = await outcome(source);
      expect(result).toHaveProperty('error');
      if ('error' in result) expect(result.error.message).toContain('produced a function, which is not a JSON value');
    });
  }

  it('keeps __proto__ from an object constructor as data and does not pollute Object.prototype', async () => {
    const result = await outcome('{"__proto__": {"polluted": 1}}');
    expect(result).toHaveProperty('value');
    const value = (result as { value: Record<string, unknown> }).value;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.prototype.hasOwnProperty.call(value, '__proto__')).toBe(true);
    expect(value['polluted']).toBeUndefined();
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(JSON.stringify(value)).toBe('{"__proto__":{"polluted":1}}');
  });

  it('keeps __proto__ from $merge as data and does not pollute Object.prototype', async () => {
    const result = await outcome('$merge([{"__proto__": {"polluted": 1}}, {"a": input.id}])');
    const value = (result as { value: Record<string, unknown> }).value;
    expect(JSON.stringify(value)).toBe('{"__proto__":{"polluted":1},"a":"c-1"}');
    expect(value['polluted']).toBeUndefined();
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    // Spreading the result (CreateDataProperty) cannot pollute either.
    const spread = { ...value } as Record<string, unknown>;
    expect(spread['polluted']).toBeUndefined();
  });

  it('does not let an expression change the scope', async () => {
    const data = { input: { a: { b: 1 } } };
    expect(await compileExpression('input ~> | a | {"b": 2, "c": 3} |', 'w').evaluate(data)).toEqual({ a: { b: 2, c: 3 } });
    await compileExpression('$merge([input.a, {"b": 5}])', 'w').evaluate(data);
    expect(data).toEqual({ input: { a: { b: 1 } } });
  });
});
