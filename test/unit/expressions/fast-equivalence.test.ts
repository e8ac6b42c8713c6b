import jsonata from 'jsonata';
import { describe, expect, it } from 'vitest';
import { compileFast } from '../../../src/expressions/fast/compile-fast.js';
import { compileExpression } from '../../../src/expressions/index.js';
import { FALLBACK, expectFastMatchesJsonata, fastFunction, oracle } from './oracle.js';

const scopes: Record<string, Record<string, unknown>> = {
  order: {
    input: {
      order_id: 'o-1001',
      customer_id: 'c-42',
      qty: 3,
      price: 0.1,
      ratio: 1 / 3,
      big: 1e21,
      negzero: -0,
      flag: true,
      nothing: null,
      empty: '',
      items: [
        { sku: 'A-1', qty: 2, tags: ['x', 'y'] },
        { sku: 'B-7', qty: 1, tags: [] },
        { sku: 'C-3', qty: 5, tags: [['n1', 'n2'], 'z'] },
      ],
      one: [{ sku: 'only', qty: 1 }],
      nested: [[{ a: 1 }, { a: 2 }], [{ a: [3, 4] }]],
      deep: [[[{ a: 1 }], { a: 2 }], [[[{ a: [[5], 6] }]]], 7],
      emptyList: [],
      obj: { a: 1, b: [1, 2], c: { d: 'e' } },
      obj2: { b: [1, 2], c: { d: 'e' }, a: 1 },
      list: [1, 2, 3],
    },
    phases: { reserve: { body: { id: 'r-9' } }, customer: { tier: 'gold' } },
    item: { sku: 'A-1', qty: 2 },
    index: 0,
  },
  sparse: { input: { a: null, b: [null, { c: 1 }], d: [[], [[]]] } },
  empty: {},
};

/** Expressions of the supported grammar, chosen to hit JSONata's quirks. */
const expressions = [
  // paths
  'input.customer_id',
  '$.input.order_id',
  '$$.phases.reserve.body.id',
  'phases.customer.tier',
  'input.missing.deeper',
  'input.items',
  'input.items.sku',
  'input.items.qty',
  'input.items.tags',
  'input.one',
  'input.one.sku',
  'input.nested.a',
  'input.deep.a',
  "'d=' & input.deep.a",
  'input.emptyList',
  'input.emptyList.x',
  'input.obj',
  'input.obj.b',
  'input.nothing',
  'input.nothing.x',
  'input.customer_id.length',
  'input.b.c',
  'input.d',
  'input.d.x',
  'item.qty',
  '$',
  '$$',
  // literals
  "'text'",
  '42',
  '-1.5',
  'true',
  'null',
  // concatenation, with $string semantics
  "'/customers/' & input.customer_id",
  "'/c/' & input.idd",
  "input.missing & input.missing",
  "'q=' & input.qty",
  "'p=' & input.price * 3",
  "'r=' & input.ratio",
  "'big=' & input.big",
  "'z=' & input.negzero",
  "'f=' & input.flag",
  "'n=' & input.nothing",
  "'o=' & input.obj",
  "'l=' & input.items.sku",
  "'e=' & input.emptyList",
  "input.one & '!'",
  "'x' & $",
  // comparisons and equality
  "phases.customer.tier = 'gold'",
  "phases.customer.tier != 'gold'",
  'input.qty = 3',
  "input.qty = '3'",
  'input.obj = input.obj2',
  'input.list = [1, 2, 3]',
  'input.items.sku = input.items.sku',
  "input.obj = {'a': 1}",
  'input.missing = input.missing',
  'input.missing != 1',
  'input.nothing = null',
  'input.qty > 2',
  'input.qty <= 2',
  "input.customer_id < 'd'",
  "input.qty < 'a'",
  'input.qty < input.missing',
  'input.obj < 1',
  'input.flag >= true',
  // arithmetic
  'input.qty + 1',
  'input.qty * input.price',
  'input.qty / 0',
  'input.qty % 2',
  '-input.qty',
  '-input.customer_id',
  '-input.missing',
  "input.qty + 'a'",
  'input.qty + input.missing',
  'input.flag + 1',
  'input.nothing * 2',
  '(input.qty - 1) * 2',
  // boolean logic and conditionals
  'input.flag and input.qty > 1',
  'input.missing or input.empty',
  'input.items and input.obj',
  'input.emptyList or input.nothing',
  "input.qty > 2 ? 'many' : 'few'",
  "input.missing ? 'yes' : 'no'",
  "input.empty ? 'yes'",
  "input.items ? 'has items' : 'none'",
  "input.one.sku = 'only' ? input.one : null",
  // constructors
  "{ 'order': input.order_id, 'customer': input.customer_id }",
  "{ 'sku': item.sku, 'qty': item.qty, 'missing': input.missing }",
  "{ 'skus': input.items.sku, 'first': input.one }",
  "{ '1': 'one', 'a': input.qty, '0': 'zero' }",
  "{ 'nested': { 'deep': [input.qty, input.customer_id] } }",
  "{}",
  '[input.qty, input.customer_id]',
  '[input.items.sku, input.list]',
  '[[input.list], input.list, []]',
  '[input.missing]',
  '[]',
  "['[', input.list]",
  '(input.qty; input.customer_id)',
  // built-in function calls (fast-functions.test.ts has the full matrix)
  '$count(input.items)',
  '$count(input.items.tags)',
  '$count(input.missing)',
  '$count(input.items) > 0',
  '$sum(input.items.qty)',
  '$sum(input.list) / $count(input.list)',
  '$sum(input.items.sku)',
  '$sum(input.missing)',
  '$max(input.items.qty)',
  '$min(input.list)',
  '$average(input.items.qty)',
  '$string(input.price * 3)',
  '$string(input.big)',
  '$string(input.negzero)',
  '$string(input.obj)',
  '$string(input.items)',
  '$length(input.customer_id)',
  '$uppercase(input.customer_id) & $lowercase(phases.customer.tier)',
  '$trim(input.empty)',
  '$exists(input.missing) ? 1 : 0',
  '$boolean(input.emptyList)',
  '$not(input.items.tags)',
  '$number(input.flag) + 1',
  "{ 'count': $count(input.items), 'total': $sum(input.items.qty) }",
];

describe('fast path equals JSONata on a table of expressions and scopes', () => {
  for (const source of expressions) {
    it(`compiles ${source} to a fast function that agrees with JSONata on every scope`, async () => {
      let answered = 0;
      for (const scope of Object.values(scopes)) {
        if (await expectFastMatchesJsonata(source, scope)) answered++;
      }
      // Each form is answered without JSONata on at least one scope, or it is an error case by design.
      const throwsEverywhere = (await Promise.all(Object.values(scopes).map((s) => oracle(source, s)))).every((o) => !o.ok);
      expect(answered > 0 || throwsEverywhere).toBe(true);
    });
  }
});

describe('fast path answers the common forms without JSONata', () => {
  const scope = scopes['order'] ?? {};
  const common = [
    'input.customer_id',
    "'/customers/' & input.customer_id",
    "{ 'order': input.order_id, 'sku': item.sku, 'qty': item.qty }",
    "phases.customer.tier = 'gold'",
    'input.items.sku',
    "input.qty > 2 ? 'many' : 'few'",
    '[input.qty, phases.reserve.body.id]',
    '$count(input.items)',
    '$sum(input.items.qty)',
    "$string(input.qty) & ' items'",
  ];
  for (const source of common) {
    it(`evaluates ${source} synchronously`, () => {
      const compiled = compileExpression(source, 'w');
      expect(compiled.fast).toBe(true);
      const value = compiled.evaluate(scope);
      expect(value).not.toBeInstanceOf(Promise);
      expect(fastFunction(source)?.(scope)).not.toBe(FALLBACK);
    });
  }
});

describe('fast path falls back to JSONata where an exact answer is hard', () => {
  const scope = scopes['order'] ?? {};
  const cases: [string, string][] = [
    ["input.qty < 'a'", 'T2009'],
    ['input.obj < 1', 'T2010'],
    ["input.qty + 'a'", 'T2002'],
    ['-input.customer_id', 'D1002'],
  ];
  for (const [source, code] of cases) {
    it(`leaves ${source} to JSONata, which reports ${code}`, async () => {
      expect(fastFunction(source)?.(scope)).toBe(FALLBACK);
      const compiled = compileExpression(source, 'phases[1].when');
      let caught: unknown;
      try {
        await compiled.evaluate(scope);
      } catch (error) {
        caught = error;
      }
      expect(caught).toMatchObject({ code: 'FLOWD_ERR_EXPRESSION_FAILED', details: { jsonataCode: code } });
      expect((caught as Error).message).toContain(code);
      expect((caught as Error).message).toContain('phases[1].when');
    });
  }

  it('falls back on a non-finite arithmetic result and reports it as not representable', async () => {
    expect(fastFunction('input.qty / 0')?.(scope)).toBe(FALLBACK);
    await expect(Promise.resolve().then(() => compileExpression('input.qty / 0', 'w').evaluate(scope))).rejects.toThrow(
      /JSON cannot represent/,
    );
  });

  it('falls back when the scope holds an array JSONata itself flagged as a sequence', () => {
    const flagged = Object.assign([1, 2], { sequence: true });
    expect(fastFunction('input.list')?.({ input: { list: flagged } })).toBe(FALLBACK);
  });

  it('falls back when a path or array constructor builds a sequence longer than the configured limit', () => {
    const limited = (source: string) => compileFast(jsonata(source).ast(), { maxSequence: () => 2, maxChars: () => Infinity });
    expect(limited('input.items.sku')?.(scope)).toBe(FALLBACK);
    expect(limited('input.one.sku')?.(scope)).toBe('only');
    expect(limited('[1, 2, 3]')?.(scope)).toBe(FALLBACK);
    expect(limited('[1, 2]')?.(scope)).toEqual([1, 2]);
  });

  it('does not compile forms outside the grammar', () => {
    for (const source of ['$sum(input.list, 1)', 'input.items[0]', 'input.items[qty > 1].sku', 'input{sku: qty}', '$x', "{ 'a': 1, 'a': 2 }", "{ '__proto__': 1 }", 'input.items[]', '$count(input.items[0]) > 0']) {
      expect(fastFunction(source), source).toBeUndefined();
      expect(compileExpression(source, 'w').fast, source).toBe(false);
    }
  });
});
