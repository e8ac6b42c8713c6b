/**
 * Differential test of the fast path's built-in function calls (src/expressions/fast/functions.ts)
 * against JSONata itself, over a broad matrix of argument values and paths.
 *
 * For every expression and scope, two things must hold:
 *   - the fast function answers (no FALLBACK) exactly when JSONata returns a JSON value, and then
 *     it answers the same value (-0 and 0 told apart);
 *   - compileExpression(...).evaluate — fast path, fallback and missing-data rule together — gives
 *     JSONata's value, or fails with JSONata's error code, or with "produced no value" where
 *     JSONata gives undefined, or refuses a non-finite number JSONata returned.
 */
import { readFileSync } from 'node:fs';
import jsonata from 'jsonata';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ExpressionError } from '../../../src/errors.js';
import { compileFast } from '../../../src/expressions/fast/compile-fast.js';
import { BUILTINS } from '../../../src/expressions/fast/functions.js';
import { compileExpression, compileTemplate, isPromiseLike, resetExpressionLimits, setExpressionLimits } from '../../../src/expressions/index.js';
import { FALLBACK, UNLIMITED, containsNonFinite, fastFunction, oracle, plain, type Outcome } from './oracle.js';

const FUNCTIONS = [...BUILTINS.keys()];

/** Argument values, each put at `input.v`. */
const values: Record<string, unknown> = {
  zero: 0,
  'minus zero': -0,
  one: 1,
  negative: -42,
  float: 0.1,
  third: 1 / 3,
  'negative float': -2.5,
  huge: 1e21,
  tiny: 1e-7,
  'long float': 123456789.12345679,
  'max value': Number.MAX_VALUE,
  'beyond 2^53': 2 ** 53 + 1,
  'empty string': '',
  letter: 'a',
  whitespace: ' \t padded \n\r  text  ',
  umlauts: 'ÄÖü straße',
  'dotted I': 'İstanbul',
  emoji: '😀x',
  'decimal string': '12.50',
  'minus zero string': '-0',
  'exponent string': '-1.5e3',
  'too big string': '1e400',
  'hex string': '0x1F',
  'bad hex string': '0x1g',
  'octal anywhere': 'x0o7',
  'binary string': '0b101',
  'binary with tail': '0b101x',
  'trailing dot': '1.',
  'leading dot': '.5',
  'leading space': ' 1',
  'true string': 'true',
  true: true,
  false: false,
  null: null,
  'empty array': [],
  numbers: [1, 2, 3],
  'float numbers': [0.1, 0.2, 0.3],
  'minus zero array': [-0],
  'negative numbers': [-5, -1, -3],
  'overflowing numbers': [Number.MAX_VALUE, Number.MAX_VALUE],
  'mixed numbers and strings': [1, '2'],
  strings: ['a', 'b'],
  'one string': ['a'],
  'one number': [7],
  'nested numbers': [[1, 2], [3]],
  nulls: [null],
  booleans: [true, false],
  'false and empty': [false, ''],
  'nested empty': [[]],
  'empty object in array': [{}],
  objects: [{ a: 1 }, { a: 'x' }],
  'empty object': {},
  object: { a: 1 },
  'nested object': { a: { b: [1, 'x', null, true] }, c: 0.1 + 0.2, d: -0, e: 1e21 },
};

/** Scopes where the argument is a path through arrays (JSONata maps and flattens). */
const sequenceScopes: Record<string, Record<string, unknown>> = {
  'rows of numbers': { input: { rows: [{ v: 1 }, { v: 2.5 }, { v: -0 }, {}] } },
  'rows of arrays': { input: { rows: [{ v: [1, 2] }, { v: 3 }, { v: [[4, 5]] }] } },
  'one row': { input: { rows: [{ v: 'only' }] } },
  'one row holding an array': { input: { rows: [{ v: [9] }] } },
  'rows of strings': { input: { rows: [{ v: 'a' }, { v: 'b' }] } },
  'rows of mixed': { input: { rows: [{ v: 1 }, { v: 'b' }, { v: null }] } },
  'nested rows': { input: { rows: [[{ v: 1 }, { v: 2 }], [{ v: [3] }]] } },
  'no rows': { input: { rows: [] } },
  'rows without v': { input: { rows: [{ w: 1 }, { w: 2 }] } },
};

/** Arguments: a plain path, a missing one, a path through arrays, and fast-path expressions around them. */
const argumentForms = ['input.v', 'input.missing', 'input.rows.v', 'input.v.a', '[input.v, 1]', "input.v & ''", 'input.v = 1 ? input.v : -1'];

const scopes: [string, Record<string, unknown>][] = [
  ...Object.entries(values).map(([name, v]): [string, Record<string, unknown>] => [name, { input: { v } }]),
  ...Object.entries(sequenceScopes),
  ['empty scope', {}],
];

/** What compileExpression(...).evaluate gives, as an Outcome (with the JSONata code of an ExpressionError). */
async function flowdOutcome(source: string, scope: Record<string, unknown>): Promise<Outcome> {
  try {
    return { ok: true, value: await compileExpression(source, 'test').evaluate(scope) };
  } catch (error) {
    expect(error).toBeInstanceOf(ExpressionError);
    const details = (error as ExpressionError & { details?: { jsonataCode?: string } }).details;
    return { ok: false, code: details?.jsonataCode, message: (error as Error).message };
  }
}

function describeScope(scope: unknown): string {
  return JSON.stringify(scope, (_key, v: unknown) => (Object.is(v, -0) ? '-0' : v));
}

describe('built-in function calls: fast path equals JSONata', () => {
  for (const name of FUNCTIONS) {
    for (const argument of argumentForms) {
      const source = `$${name}(${argument})`;
      it(`gives JSONata's value or error code for ${source} on every scope`, async () => {
        const fast = fastFunction(source);
        expect(fast, `${source} should compile to a fast function`).toBeDefined();
        for (const [label, scope] of scopes) {
          const where = `${source} on ${label} ${describeScope(scope)}`;
          const expected = await oracle(source, scope);
          const value = fast?.(scope);
          const jsonValue = expected.ok && !containsNonFinite(expected.value);
          // Answers exactly when JSONata gives a JSON value: never a different answer, and no needless
          // fallback either (none of these inputs reaches a size limit).
          expect(value !== FALLBACK, `${where}: fast path answered ${String(value !== FALLBACK)}, JSONata ${JSON.stringify(expected)}`).toBe(jsonValue);
          if (value !== FALLBACK) {
            expect(expected.ok && plain(value), where).toEqual(expected.ok && expected.value);
          }

          const actual = await flowdOutcome(source, scope);
          if (!expected.ok) {
            expect(actual, where).toMatchObject({ ok: false, code: expected.code });
          } else if (expected.value === undefined) {
            expect(actual.ok, where).toBe(false);
            if (!actual.ok) expect(actual.message, where).toMatch(/produced no value/);
          } else if (!jsonValue) {
            expect(actual.ok, where).toBe(false);
            if (!actual.ok) expect(actual.message, where).toMatch(/JSON cannot represent/);
          } else {
            expect(actual, where).toEqual({ ok: true, value: expected.value });
          }
        }
      });
    }
  }
});

describe('built-in function calls: undefined, errors and limits', () => {
  afterEach(() => resetExpressionLimits());

  it('matches JSONata on a missing argument: $count gives 0, $exists false, the rest no value', () => {
    const results: Record<string, unknown> = {};
    for (const name of FUNCTIONS) results[name] = fastFunction(`$${name}(input.missing)`)?.({ input: {} });
    expect(results).toEqual({
      count: 0,
      sum: undefined,
      max: undefined,
      min: undefined,
      average: undefined,
      string: undefined,
      length: undefined,
      uppercase: undefined,
      lowercase: undefined,
      trim: undefined,
      exists: false,
      boolean: undefined,
      not: undefined,
      number: undefined,
    });
  });

  const errors: [string, unknown, string][] = [
    ['$sum(input.v)', [1, '2'], 'T0412'],
    ['$sum(input.v)', 'a', 'T0412'],
    ['$max(input.v)', [[1]], 'T0412'],
    ['$average(input.v)', { a: 1 }, 'T0412'],
    ['$length(input.v)', ['a'], 'T0410'],
    ['$uppercase(input.v)', 1, 'T0410'],
    ['$number(input.v)', null, 'T0410'],
    ['$number(input.v)', ' 1', 'D3030'],
  ];
  for (const [source, v, code] of errors) {
    it(`leaves ${source} with ${JSON.stringify(v)} to JSONata, which reports ${code}`, async () => {
      expect(fastFunction(source)?.({ input: { v } })).toBe(FALLBACK);
      await expect(Promise.resolve().then(() => compileExpression(source, 'phases[0].request').evaluate({ input: { v } }))).rejects.toMatchObject({
        details: { jsonataCode: code },
      });
    });
  }

  it('falls back on $max over more items than Math.max.apply is sure to take', () => {
    const many = Array.from({ length: 20_000 }, (_, i) => i);
    expect(fastFunction('$max(input.v)')?.({ input: { v: many } })).toBe(FALLBACK);
    expect(fastFunction('$sum(input.v)')?.({ input: { v: many } })).toBe((20_000 * 19_999) / 2);
  });

  it('falls back where a call would build a string past the size limit, so the bounded path refuses it', async () => {
    const scope = { input: { v: { text: 'x'.repeat(40) } } };
    const limited = compileFast(jsonata('$string(input.v)').ast(), { ...UNLIMITED, maxChars: () => 20 });
    expect(limited?.(scope)).toBe(FALLBACK);
    setExpressionLimits({ maxResultChars: 20 });
    await expect(Promise.resolve().then(() => compileExpression('$string(input.v)', 'w').evaluate(scope))).rejects.toMatchObject({
      details: { limit: 'size' },
    });
  });

  it('does not compile calls outside the supported forms', () => {
    const outside = ['$string()', '$string(input.v, true)', '$substring(input.v, 1)', '$count(input.v)[0]', '$f(input.v)', 'input.v ~> $count()', '$count(input.v[0])'];
    for (const source of outside) expect(fastFunction(source), source).toBeUndefined();
  });
});

describe('bench-transform3 takes the fast path', () => {
  it('evaluates every expression of bench/flows/bench-transform3.yaml synchronously', () => {
    const flow = parse(readFileSync(new URL('../../../bench/flows/bench-transform3.yaml', import.meta.url), 'utf8')) as {
      phases: { id: string; request: unknown }[];
    };
    const phases: Record<string, unknown> = {};
    const input = { name: 'bench', items: [1, 2, 3, 4, 5] };
    for (const phase of flow.phases) {
      const template = compileTemplate(phase.request, `phases.${phase.id}`);
      expect(template.expressions.every((expression) => expression.fast), phase.id).toBe(true);
      const value = template.evaluate({ input, phases });
      expect(isPromiseLike(value), phase.id).toBe(false);
      phases[phase.id] = value;
    }
    expect(phases['shape']).toEqual({ ok: true, name: 'bench', count: 5, sum: 15 });
  });
});
