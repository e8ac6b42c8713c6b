/**
 * The expression worker pool (src/expressions/isolation): a real worker thread per slot, the
 * main thread's deadline timer faked where the test is about when it fires.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ExpressionError, FlowdError } from '../../../src/errors.js';
import { compileExpression } from '../../../src/expressions/index.js';
import { buildEngine } from '../../../src/library.js';
import { DEFAULT_EXPRESSION_LIMITS, type ExpressionLimits } from '../../../src/expressions/limits.js';
import { ExpressionWorkerPool, type WorkerPoolOptions } from '../../../src/expressions/isolation/worker-pool.js';

/** One regex call that backtracks for minutes: no evaluation step boundary for the guard to stop at. */
const BACKTRACKING = { source: '$contains(input.s, /^(a|aa)+$/)', scope: { input: { s: `${'a'.repeat(60)}!` } } };

const pools: ExpressionWorkerPool[] = [];

function pool(options: Partial<WorkerPoolOptions> = {}): ExpressionWorkerPool {
  const created = new ExpressionWorkerPool({ size: 1, marginMs: 100, maxQueue: 10, resourceLimits: { maxOldGenerationSizeMb: 128 }, ...options });
  pools.push(created);
  return created;
}

function request(source: string, scope: Record<string, unknown> = {}, limits: Partial<ExpressionLimits> = {}) {
  return { source, where: 'w', scope, limits: { ...DEFAULT_EXPRESSION_LIMITS, ...limits } };
}

/** Settles the promise's state into a readable box without awaiting it. */
function watch(promise: Promise<unknown>): { settled: boolean; error: unknown } {
  const box = { settled: false, error: undefined as unknown };
  promise.then(
    () => {
      box.settled = true;
    },
    (error: unknown) => {
      box.settled = true;
      box.error = error;
    },
  );
  return box;
}

afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

describe('expression worker pool', () => {
  it('answers plain results and ExpressionErrors as the in-process evaluation would', async () => {
    const p = pool();
    expect(await p.run(request('$sort(input.list)', { input: { list: [3, 1, 2] } }))).toEqual([1, 2, 3]);
    const error = await p.run(request("$number('x') + 1")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExpressionError);
    expect((error as ExpressionError).message).toMatch(/^w: expression "\$number\('x'\) \+ 1" failed: Unable to cast value to a number/);
    expect((error as ExpressionError).where).toBe('w');
  });

  it('terminates a worker stuck in one built-in call at exactly its time limit plus the margin, failing only that evaluation', async () => {
    const p = pool();
    expect(await p.run(request('$sum(input.list)', { input: { list: [1, 2] } }))).toBe(3); // the worker is up
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const stuck = watch(p.run(request(BACKTRACKING.source, BACKTRACKING.scope, { timeoutMs: 50 })));
    await vi.advanceTimersByTimeAsync(149);
    expect(stuck.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(stuck.settled).toBe(true);
    expect(stuck.error).toBeInstanceOf(ExpressionError);
    expect((stuck.error as ExpressionError).message).toBe(`w: expression "${BACKTRACKING.source}" exceeded its 50 ms time limit`);
    expect((stuck.error as ExpressionError).details).toEqual({ limit: 'time' });
    vi.useRealTimers();
    // A fresh worker took the terminated one's place.
    expect(await p.run(request('$sum(input.list)', { input: { list: [1, 2] } }))).toBe(3);
  });

  it('starts the deadline when a worker takes the evaluation, not while it waits for one', async () => {
    const p = pool();
    expect(await p.run(request('1 + 1'))).toBe(2);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const stuck = watch(p.run(request(BACKTRACKING.source, BACKTRACKING.scope, { timeoutMs: 50 })));
    const waiting = p.run(request('$sort(input.list)', { input: { list: [2, 1] } }, { timeoutMs: 50 }));
    await vi.advanceTimersByTimeAsync(150); // the waiting one has waited its own limit plus margin
    expect(stuck.error).toBeInstanceOf(ExpressionError);
    vi.useRealTimers();
    expect(await waiting).toEqual([1, 2]);
  });

  it('fails an evaluation whose worker runs out of its heap with the memory-limit error; the next one runs', async () => {
    const p = pool({ resourceLimits: { maxOldGenerationSizeMb: 16 } });
    const error = await p.run(request("$count([1..99999].$pad('', 5000))", {}, { timeoutMs: 60_000 })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExpressionError);
    expect((error as ExpressionError).message).toMatch(/exceeded its memory limit$/);
    expect((error as ExpressionError).details).toEqual({ limit: 'memory' });
    expect(await p.run(request('$count(input.list)', { input: { list: [1, 2, 3] } }))).toBe(3);
  });

  it('refuses an evaluation beyond the queue bound with FLOWD_ERR_OVERLOADED instead of queueing it', async () => {
    const p = pool({ maxQueue: 1 });
    expect(await p.run(request('1'))).toBe(1);
    const stuck = p.run(request(BACKTRACKING.source, BACKTRACKING.scope, { timeoutMs: 10_000 })).catch((e: unknown) => e);
    const queued = p.run(request('2')).catch((e: unknown) => e);
    const refused = await p.run(request('3')).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(FlowdError);
    expect((refused as FlowdError).code).toBe('FLOWD_ERR_OVERLOADED');
    await p.close();
    expect(((await stuck) as FlowdError).code).toBe('FLOWD_ERR_SHUTTING_DOWN');
    expect(((await queued) as FlowdError).code).toBe('FLOWD_ERR_SHUTTING_DOWN');
  });
});

describe('callers served in turn', () => {
  it('takes the next evaluation from each caller in turn: one queueing many does not hold up another', async () => {
    const p = pool({ maxQueue: 20 });
    const order: string[] = [];
    // Queued before the worker is up: alice's three first, then bob's one.
    const runs = [['alice', 'a1'], ['alice', 'a2'], ['alice', 'a3'], ['bob', 'b1']].map(([group, label]) =>
      p.run(request(`"${label}"`), group).then((value) => order.push(String(value))),
    );
    await Promise.all(runs);
    expect(order).toEqual(['a1', 'b1', 'a2', 'a3']); // first come, first served would be a1, a2, a3, b1
  });

  it('lets one caller fill at most half the queue, so another can still queue', async () => {
    const p = pool({ maxQueue: 4 });
    const queued = [p.run(request('1'), 'alice'), p.run(request('2'), 'alice')];
    const refused = await p.run(request('3'), 'alice').catch((e: unknown) => e);
    expect((refused as FlowdError).code).toBe('FLOWD_ERR_OVERLOADED');
    expect((refused as FlowdError).message).toMatch(/of this caller are waiting/);
    expect(await p.run(request('4'), 'bob')).toBe(4);
    expect(await Promise.all(queued)).toEqual([1, 2]);
  });
});

describe('isolated evaluation through compileExpression', () => {
  it('evaluates in-process when the scope holds a value no thread can receive (a function from custom code)', async () => {
    const compiled = compileExpression('$sort(input.list)', 'w');
    expect(compiled.fast).toBe(false);
    expect(await compiled.evaluate({ input: { list: [2, 1], helper: () => 1 } })).toEqual([1, 2]);
  });

  it('copies only the scope members the expression reads to the worker, the whole scope when it reads $', async () => {
    const run = vi.spyOn(ExpressionWorkerPool.prototype, 'run');
    try {
      const scope = { input: { list: [2, 1] }, phases: { big: 'x'.repeat(1000) }, execution: { id: 'e' } };
      expect(await compileExpression('$sort(input.list)', 'w').evaluate(scope)).toEqual([1, 2]);
      expect(Object.keys(run.mock.calls.at(-1)![0].scope)).toEqual(['input']);
      expect(await compileExpression('$keys()', 'w').evaluate(scope)).toEqual(['input', 'phases', 'execution']);
      expect(run.mock.calls.at(-1)![0].scope).toBe(scope);
    } finally {
      run.mockRestore();
    }
  });

  it("queues an execution's evaluations under its tenant (served in turn), and none of it reaches the worker", async () => {
    const run = vi.spyOn(ExpressionWorkerPool.prototype, 'run');
    const built = await buildEngine({ flows: [{ name: 'sorter', phases: [{ id: 'sort', component: 'transform', request: '{% $sort(input.list) %}' }] }] });
    try {
      const record = await built.engine.execute('sorter', { list: [2, 1] }, { tenant: 'alice' });
      expect(record.output).toEqual([1, 2]);
      const [request, group] = run.mock.calls.at(-1)!;
      expect(group).toBe('alice');
      expect(JSON.stringify(request.scope)).not.toContain('alice');
      await built.engine.execute('sorter', { list: [2, 1] });
      expect(run.mock.calls.at(-1)![1]).toBe('');
    } finally {
      run.mockRestore();
      await built.engine.close();
    }
  });
});
