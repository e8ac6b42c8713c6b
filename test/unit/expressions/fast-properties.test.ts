import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ExpressionError } from '../../../src/errors.js';
import { compileExpression } from '../../../src/expressions/index.js';
import { FALLBACK, containsNonFinite, fastFunction, oracle, plain } from './oracle.js';

// A small key alphabet so that generated paths actually hit generated data.
const key = fc.constantFrom('a', 'b', 'c');

const json: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.integer({ min: -5, max: 5 }),
    fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }),
    fc.constantFrom(0.1, 0.2, 1 / 3, 1e21, -0, 123456789.12345679),
    fc.constantFrom('', 'a', 'b', 'x y', '1', 'true'),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(key, tie('value'), { maxKeys: 3 }),
  ),
})).value;

const scope = fc.record(
  {
    input: fc.dictionary(key, json, { maxKeys: 3 }),
    item: json,
    phases: fc.record({ a: json, b: json }, { requiredKeys: [] }),
  },
  { requiredKeys: [] },
);

const pathExpr = fc
  .tuple(fc.constantFrom('input', 'item', 'phases', '$.input', '$$.phases', 'missing'), fc.array(key, { maxLength: 3 }))
  .map(([root, keys]) => [root, ...keys].join('.'));

const literalExpr = fc.oneof(
  fc.constantFrom("'a'", "''", "'x y'", '0', '1', '2.5', '-3', '0.1', 'true', 'false', 'null'),
  fc.integer({ min: -3, max: 3 }).map(String),
);

const binaryOps = ['&', '=', '!=', '<', '<=', '>', '>=', '+', '-', '*', '/', '%', 'and', 'or'] as const;

const builtins = ['count', 'sum', 'max', 'min', 'average', 'string', 'length', 'uppercase', 'lowercase', 'trim', 'exists', 'boolean', 'not', 'number'];

const expression: fc.Arbitrary<string> = fc.letrec<{ expr: string }>((tie) => ({
  expr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    pathExpr,
    literalExpr,
    fc.tuple(tie('expr'), fc.constantFrom(...binaryOps), tie('expr')).map(([l, op, r]) => `(${l} ${op} ${r})`),
    fc.tuple(tie('expr'), tie('expr'), fc.option(tie('expr'), { nil: undefined })).map(([c, t, e]) =>
      e === undefined ? `(${c} ? ${t})` : `(${c} ? ${t} : ${e})`,
    ),
    fc.array(tie('expr'), { maxLength: 3 }).map((items) => `[${items.join(', ')}]`),
    fc.array(tie('expr'), { minLength: 1, maxLength: 2 }).map((items) => `[[${items.join(', ')}], ${items.join(', ')}]`),
    fc
      .uniqueArray(fc.tuple(fc.constantFrom('k', 'l', '0', 'm n'), tie('expr')), { maxLength: 3, selector: ([k]) => k })
      .map((pairs) => `{ ${pairs.map(([k, v]) => `'${k}': ${v}`).join(', ')} }`),
    tie('expr').map((e) => `-${e}`),
    fc.tuple(fc.constantFrom(...builtins), tie('expr')).map(([name, argument]) => `$${name}(${argument})`),
    fc.tuple(tie('expr'), tie('expr')).map(([a, b]) => `(${a}; ${b})`),
  ),
})).expr;

describe('fast path equals JSONata on random expressions and scopes (fast-check)', () => {
  it('gives exactly what JSONata gives whenever it answers without falling back', async () => {
    let answered = 0;
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(expression, scope, async (source, data) => {
        runs++;
        const fast = fastFunction(source);
        expect(fast, `grammar expression not compiled: ${source}`).toBeDefined();
        const value = fast?.(data);
        if (value === FALLBACK) return;
        answered++;
        const expected = await oracle(source, data);
        expect(expected, `JSONata threw for ${source}, fast path answered ${JSON.stringify(value)}`).toMatchObject({ ok: true });
        if (expected.ok) expect(plain(value)).toEqual(expected.value);
      }),
      { numRuns: 600 },
    );
    // The property only means something if most cases were actually answered by the fast path.
    expect(answered / runs).toBeGreaterThan(0.5);
  }, 60_000);

  it('evaluate (fast path plus fallback plus the missing-data rule) agrees with JSONata on every input', async () => {
    await fc.assert(
      fc.asyncProperty(expression, scope, async (source, data) => {
        const compiled = compileExpression(source, 'prop');
        const expected = await oracle(source, data);
        let actual: { ok: true; value: unknown } | { ok: false; error: unknown };
        try {
          actual = { ok: true, value: await compiled.evaluate(data) };
        } catch (error) {
          actual = { ok: false, error };
        }
        if (!expected.ok) {
          expect(actual.ok, `${source} should fail like JSONata (${expected.code})`).toBe(false);
          // JSONata evaluates the members of object and array constructors concurrently (Promise.all),
          // so when two of them fail, which error wins depends on scheduling; otherwise the code must match.
          const concurrent = source.includes('{') || source.includes('[');
          if (!actual.ok && !concurrent) expect(actual.error).toMatchObject({ details: { jsonataCode: expected.code } });
          if (!actual.ok) expect(actual.error).toBeInstanceOf(ExpressionError);
        } else if (expected.value === undefined) {
          expect(actual.ok).toBe(false);
          if (!actual.ok) expect((actual.error as Error).message).toMatch(/produced no value/);
        } else if (containsNonFinite(expected.value)) {
          expect(actual.ok).toBe(false);
          if (!actual.ok) expect(actual.error).toBeInstanceOf(ExpressionError);
        } else {
          expect(actual).toEqual({ ok: true, value: expected.value });
        }
      }),
      { numRuns: 400 },
    );
  }, 60_000);
});
