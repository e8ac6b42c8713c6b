/**
 * Micro-benchmark: what isolating slow-path expressions in worker threads costs, A/B in one run.
 * Not a test (no assertions). Run: npx tsx bench/expression-isolation.ts (best of 5 rounds per figure)
 *
 *   in-process  EXPRESSION_WORKERS=0: JSONata with the guard hooks on the event-loop thread (0.1 behaviour)
 *   worker      EXPRESSION_WORKERS=2: the same evaluation in a worker (scope slice copied there, result back)
 *   main µs     event-loop time per evaluation in the worker case (what the other requests lose)
 * The fast path is untouched by isolation; its figures are in bench/expressions.ts.
 */
import { performance } from 'node:perf_hooks';
import {
  closeExpressionWorkers,
  compileExpression,
  setExpressionIsolation,
  setExpressionLimits,
  startExpressionWorkers,
} from '../src/expressions/index.js';

// The 10 000-item predicate needs more than the default 50 ms in JSONata: measure it, do not stop it.
setExpressionLimits({ timeoutMs: 10_000 });

const items = (n: number) => Array.from({ length: n }, (_, i) => ({ sku: `S-${i}`, qty: i % 7, price: (i % 13) + 0.5 }));

/** [name, source, scope, iterations per round] */
const cases: [string, string, Record<string, unknown>, number][] = [
  ['predicate, 2 items', '$sum(input.items[qty > 0].qty)', { input: { items: items(2) } }, 2000],
  ['reads input only, 480 KB phases in scope', '$sum(input.items[qty > 0].qty)', { input: { items: items(2) }, phases: { big: items(10_000) } }, 2000],
  ['$sort with lambda, 5 items', '$sort(input.items, function($a, $b) { $a.price > $b.price })[0].sku', { input: { items: items(5) } }, 1000],
  ['$map + $join, 20 items', "$join($map(input.items, function($i) { $i.sku & ':' & $i.qty }), ',')", { input: { items: items(20) } }, 1000],
  ['predicate, 1000 items (48 KB)', '$count(input.items[qty > 3])', { input: { items: items(1000) } }, 100],
  ['predicate, 10 000 items (480 KB)', '$count(input.items[qty > 3])', { input: { items: items(10_000) } }, 20],
];

const ROUNDS = 5;

async function time(fn: () => unknown, iterations: number): Promise<{ wallUs: number; mainUs: number }> {
  for (let i = 0; i < Math.max(20, iterations / 5); i++) await fn();
  let wall = Number.POSITIVE_INFINITY;
  let main = Number.POSITIVE_INFINITY;
  for (let round = 0; round < ROUNDS; round++) {
    const elu = performance.eventLoopUtilization();
    const start = performance.now();
    for (let i = 0; i < iterations; i++) await fn();
    const elapsed = performance.now() - start;
    const used = performance.eventLoopUtilization(elu);
    wall = Math.min(wall, (elapsed * 1000) / iterations);
    main = Math.min(main, (used.active * 1000) / iterations);
  }
  return { wallUs: wall, mainUs: main };
}

const compiled = cases.map(([name, source]) => {
  const expression = compileExpression(source, 'bench');
  if (expression.fast) throw new Error(`${name}: ${source} was expected to leave the fast path`);
  return expression;
});
setExpressionIsolation({ workers: 0 });
const inProcess = [];
for (const [i, [, , scope, iterations]] of cases.entries()) inProcess.push(await time(() => compiled[i]!.evaluate(scope), iterations));
setExpressionIsolation({ workers: 2 });
startExpressionWorkers();
const rows: Record<string, string>[] = [];
for (const [i, [name, , scope, iterations]] of cases.entries()) {
  const worker = await time(() => compiled[i]!.evaluate(scope), iterations);
  rows.push({
    form: name,
    'in-process µs': inProcess[i]!.wallUs.toFixed(1),
    'worker µs': worker.wallUs.toFixed(1),
    'worker main µs': worker.mainUs.toFixed(1),
  });
}
await closeExpressionWorkers();
console.table(rows);
console.log(`node ${process.version}; indicative only on a shared machine: compare the columns of one run`);
