/**
 * Issue rule 4 — expressions are code and are bounded: a runaway expression fails its phase with
 * ExpressionError (422) while the service stays responsive, and expressions see only the flow's
 * data: no process, environment, globals or prototypes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem, json, startService, type TestService } from './helpers.js';

const ENV_CANARY = 'env-canary-3b9f0c7e5a';

/** A flow whose one phase evaluates `expression` (sent in the input, compiled here at load). */
function expressionFlow(name: string, expression: string): Record<string, unknown> {
  return { name, phases: [{ id: 'calc', component: 'transform', request: `{% ${expression} %}` }] };
}

const RUNAWAY = {
  // About ten times the 800 ms limit of work, so finishing under the limit is impossible on any machine.
  spin: '$sum([1..99000].$sum([1..999]))',
  recursion: '($f := function($n) { $n <= 0 ? 0 : 1 + $f($n - 1) }; $f(100000))',
  doubling: "($f := function($s, $n) { $n = 0 ? $s : $f($s & $s, $n - 1) }; $f('x', 40))",
  range: '$count([1..50000000])',
  objects: "$merge([1..99000].{$string($): $})",
};

/** Escapes that read past the scope at run time: they must yield nothing from outside the flow. */
const ESCAPES = {
  constructorChain: "input.constructor.constructor('return process')()",
  proto: 'input.__proto__',
  lookupConstructor: "$lookup(input, 'constructor')",
  evalConstructor: "$eval('$$.constructor')",
  evalProcess: "$eval('$$.process.env')",
  require: "$require('child_process')",
  functionCtor: "$string.constructor('return process')()",
};

/** Escapes that name something outside the scope: the compiler refuses them at load. */
const REFUSED_AT_LOAD = {
  rootConstructor: "$$.constructor.constructor('return process.env')()",
  processPath: '$$.process.env',
  globalThis: '$$.globalThis',
  bareProcess: 'process.env',
};

let t: TestService;

beforeAll(async () => {
  process.env['FLOWD_TEST_ENV_CANARY'] = ENV_CANARY;
  t = await startService(
    [
      ...Object.entries(RUNAWAY).map(([name, expression]) => expressionFlow(name, expression)),
      ...Object.entries(ESCAPES).map(([name, expression]) => expressionFlow(name.toLowerCase(), expression)),
      expressionFlow('whole-scope', '$string($$)'),
      expressionFlow('scope-keys', '$keys($$)'),
    ],
    { EXPRESSION_TIMEOUT_MS: '800', RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'warn' },
  );
});

afterAll(async () => {
  delete process.env['FLOWD_TEST_ENV_CANARY'];
  await t.close();
});

const execute = (flow: string, input: unknown = { n: 1 }) => t.service.app.inject({ method: 'POST', url: `/flows/${flow}/execute`, payload: { input } });

describe('runaway expressions are stopped, and the service stays responsive meanwhile', () => {
  it('a CPU-bound expression is stopped at EXPRESSION_TIMEOUT_MS with 422, while /health/live keeps answering', async () => {
    const started = performance.now();
    let finishedAt = Infinity;
    const running = execute('spin').then((response) => {
      finishedAt = performance.now();
      return response;
    });
    const latencies: number[] = [];
    const answeredAt: number[] = [];
    // Probe liveness while the expression runs.
    for (let i = 0; i < 10; i++) {
      const before = performance.now();
      const live = await t.service.app.inject({ method: 'GET', url: '/health/live' });
      expect(live.statusCode).toBe(200);
      latencies.push(performance.now() - before);
      answeredAt.push(performance.now());
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const response = await running;
    const body = expectProblem(response, 422, 'FLOWD_ERR_EXPRESSION_FAILED');
    expect(String(body['detail'])).toMatch(/exceeded its 800 ms time limit/);
    // It really ran long (so the probes above overlapped it) and was stopped near its limit.
    expect(finishedAt - started).toBeGreaterThan(700);
    expect(finishedAt - started).toBeLessThan(5000);
    expect(answeredAt.filter((at) => at < finishedAt).length).toBeGreaterThanOrEqual(5);
    // Each probe waited at most a few evaluation slices, never for the whole expression.
    expect(Math.max(...latencies)).toBeLessThan(250);
  });

  for (const [flow, limit] of [
    ['recursion', /depth limit/],
    ['doubling', /longer than|size|characters/],
    ['range', /sequence|longer than|items|limit/],
    ['objects', /limit/],
  ] as const) {
    it(`${flow}: stopped by a bound with 422 FLOWD_ERR_EXPRESSION_FAILED, not a crash or a 500`, async () => {
      const body = expectProblem(await execute(flow), 422, 'FLOWD_ERR_EXPRESSION_FAILED');
      expect(String(body['detail'])).toMatch(limit);
    });
  }

  it('the process is still healthy afterwards', async () => {
    expect((await t.service.app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
    expect(json(await execute('scope-keys'))['output']).toEqual(['input', 'phases', 'execution', 'deps']);
  });
});

describe('expressions see only the flow data: no process, environment, globals or prototypes', () => {
  for (const [name, expression] of Object.entries(ESCAPES)) {
    it(`${expression} yields nothing from outside the flow`, async () => {
      const response = await execute(name.toLowerCase(), { s: 'str', list: [1] });
      expect(response.statusCode).not.toBe(500);
      expect(response.body).not.toContain(ENV_CANARY);
      expect(response.body).not.toMatch(/"(PATH|HOME|NODE_OPTIONS)"|node_modules|\[Function|function\s*\w*\s*\([^)]*\)\s*\{|native code/);
      if (response.statusCode !== 200) {
        // A syntax or evaluation error is a load-time or 422 ExpressionError, named as such.
        expect(json(response)['code']).toBe('FLOWD_ERR_EXPRESSION_FAILED');
      }
    });
  }

  for (const [name, expression] of Object.entries(REFUSED_AT_LOAD)) {
    it(`${expression} is refused at load (ConfigurationError: not visible here)`, async () => {
      const error = await startService([expressionFlow(name.toLowerCase(), expression)]).then(
        async (s) => {
          await s.close();
          return undefined;
        },
        (e: unknown) => e as Error,
      );
      expect(error?.name).toBe('ConfigurationError');
      expect(error?.message).toMatch(/is not visible here/);
    });
  }

  it('the whole scope an expression sees is input, phases, execution, deps — nothing else', async () => {
    const body = json(await execute('whole-scope', { a: 1 }));
    const scope = JSON.parse(body['output'] as string) as Record<string, unknown>;
    expect(Object.keys(scope).sort()).toEqual(['deps', 'execution', 'input', 'phases']);
    expect(JSON.stringify(scope)).not.toContain(ENV_CANARY);
  });

  it('no expression polluted a prototype', () => {
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });
});
