/**
 * Micro-benchmark: µs per evaluation of common expression forms, fast path vs JSONata.
 * Not a test (no assertions). Run: npx tsx bench/expressions.ts (best of 5 rounds per figure)
 *
 *   fast     compileExpression(...).evaluate(scope) taking the fast path (synchronous)
 *   jsonata  plain jsonata(src).evaluate(scope), no options or hooks (DESIGN "Cost" baseline)
 *   bounded  what flowd's slow path costs for the same form: JSONata with the time/depth/size
 *            guard hooks and the result copy
 */
import jsonata from 'jsonata';
import { evaluateBounded, installGuardHook } from '../src/expressions/bounded-evaluation.js';
import { compileExpression } from '../src/expressions/index.js';
import { jsonataOptions } from '../src/expressions/limits.js';

const scope = {
  input: {
    order_id: 'o-1001',
    customer_id: 'c-42',
    note: '  leave at\tthe  door ',
    price: '12.50',
    amounts: [1, 2, 3, 4, 5],
    items: [
      { sku: 'A-1', qty: 2 },
      { sku: 'B-7', qty: 1 },
    ],
  },
  phases: { customer: { tier: 'gold' }, reserve: { body: { id: 'r-9' } } },
  item: { sku: 'A-1', qty: 2 },
};

const forms: [string, string][] = [
  ['path', 'input.customer_id'],
  ['concatenation', "'/customers/' & input.customer_id"],
  ['object (3 members)', "{ 'order': input.order_id, 'sku': item.sku, 'qty': item.qty }"],
  ['comparison', "phases.customer.tier = 'gold'"],
  ['conditional', "item.qty > 1 ? 'bulk' : 'single'"],
  ['path through array', 'input.items.sku'],
  ['$count (bench-transform3)', '$count(input.items)'],
  ['$sum (bench-transform3)', '$sum(input.amounts)'],
  ['$sum over a path', '$sum(input.items.qty)'],
  ['$max', '$max(input.items.qty)'],
  ['$min', '$min(input.amounts)'],
  ['$average', '$average(input.amounts)'],
  ['$string of a number', '$string(item.qty)'],
  ['$string of an object', '$string(item)'],
  ['$length', '$length(input.customer_id)'],
  ['$uppercase', '$uppercase(item.sku)'],
  ['$lowercase', '$lowercase(phases.customer.tier)'],
  ['$trim', '$trim(input.note)'],
  ['$exists', '$exists(input.coupon)'],
  ['$boolean', '$boolean(input.items)'],
  ['$not', '$not(input.items)'],
  ['$number', '$number(input.price)'],
];

/** Best of ROUNDS rounds (µs per call): on a shared machine the minimum is the least disturbed figure. */
const ROUNDS = 5;

function timeSync(fn: () => unknown, iterations: number): number {
  for (let i = 0; i < iterations / 10; i++) fn();
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < ROUNDS; round++) {
    const start = performance.now();
    for (let i = 0; i < iterations; i++) fn();
    best = Math.min(best, ((performance.now() - start) * 1000) / iterations);
  }
  return best;
}

async function timeAsync(fn: () => Promise<unknown>, iterations: number): Promise<number> {
  for (let i = 0; i < iterations / 10; i++) await fn();
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < ROUNDS; round++) {
    const start = performance.now();
    for (let i = 0; i < iterations; i++) await fn();
    best = Math.min(best, ((performance.now() - start) * 1000) / iterations);
  }
  return best;
}

const rows: Record<string, string>[] = [];
for (const [name, source] of forms) {
  const compiled = compileExpression(source, 'bench');
  if (!compiled.fast) throw new Error(`${source} was expected to take the fast path`);
  const plain = jsonata(source);
  const guarded = jsonata(source, jsonataOptions);
  installGuardHook(guarded);
  const fast = timeSync(() => compiled.evaluate(scope), 500_000);
  const raw = await timeAsync(() => plain.evaluate(scope), 20_000);
  const bounded = await timeAsync(() => evaluateBounded(guarded, scope, 'bench', source), 20_000);
  rows.push({
    form: name,
    'fast µs': fast.toFixed(3),
    'jsonata µs': raw.toFixed(2),
    'bounded µs': bounded.toFixed(2),
    speed_up: `${Math.round(raw / fast)}x`,
  });
}
const baseline = timeSync(() => `/customers/${String(scope.input.customer_id)}`, 500_000);
console.table(rows);
console.log(`plain JavaScript template literal: ${baseline.toFixed(3)} µs (node ${process.version})`);
