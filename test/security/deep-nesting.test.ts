/**
 * Audit finding: 10 KB of `[[[…]]]` from an upstream ended as a 500 "Maximum call stack size
 * exceeded". Deeply nested data is refused where it enters, with a coded problem: upstream JSON
 * is a protocol error (502), any other phase output a limit (422), and nothing reaches a
 * serialiser that would overflow.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ComponentAdapter } from '../../src/adapters/types.js';
import { MAX_VALUE_NESTING } from '../../src/limits/json-nesting.js';
import { startServer, type TestServer } from './egress/helpers.js';
import { expectProblem, json, startService, type TestService } from './helpers.js';

/** 10 KB of brackets: 5 000 levels. */
const DEEP_JSON = `${'['.repeat(5000)}${']'.repeat(5000)}`;

function nested(levels: number): unknown {
  let value: unknown = [];
  for (let i = 1; i < levels; i++) value = [value];
  return value;
}

/** A custom adapter answering whatever value its config names (custom code may build anything). */
const deepAdapter: ComponentAdapter<{ levels: number }> = {
  kind: 'deep',
  configSchema: z.strictObject({ levels: z.number() }),
  create: (config) => ({ execute: async () => nested(config.levels) }),
};

let upstream: TestServer;
let t: TestService;

beforeAll(async () => {
  upstream = await startServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(req.url === '/deep' ? DEEP_JSON : JSON.stringify({ ok: nested(20) }));
  });
  const call = (name: string, path: string) => ({
    name,
    components: { api: { adapter: 'http', base_url: upstream.origin } },
    phases: [{ id: 'get', component: 'api', request: { method: 'GET', path }, output: '{% result.body %}' }],
  });
  t = await startService(
    [
      call('deep-upstream', '/deep'),
      call('shallow-upstream', '/shallow'),
      { name: 'deep-adapter', components: { d: { adapter: 'deep', levels: 5000 } }, phases: [{ id: 'make', component: 'd' }] },
      { name: 'deep-expression', phases: [{ id: 'make', component: 'transform', request: "{% $reduce([1..150], function($acc, $i) { { 'a': $acc } }, 1) %}" }] },
    ],
    { EGRESS_ALLOW: '127.0.0.1', RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'warn', PERSISTENCE: 'all', EXPRESSION_TIMEOUT_MS: '5000' },
    { adapters: [deepAdapter as ComponentAdapter<never>] },
  );
});

afterAll(async () => {
  await t.close();
  await upstream.close();
});

const execute = (flow: string) => t.service.app.inject({ method: 'POST', url: `/flows/${flow}/execute`, payload: { input: {} } });

describe('deeply nested data is a coded problem, never a 500 stack overflow', () => {
  it('10 KB of nested arrays from an upstream is a 502 protocol error naming the limit', async () => {
    const body = expectProblem(await execute('deep-upstream'), 502, 'FLOWD_ERR_COMPONENT_FAILED');
    expect(String(body['detail'])).toContain(`upstream JSON is nested deeper than ${MAX_VALUE_NESTING} levels`);
    expect(t.logs()).not.toContain('Maximum call stack size exceeded');
  });

  it('upstream JSON of ordinary depth still passes', async () => {
    const response = await execute('shallow-upstream');
    expect(response.statusCode).toBe(200);
    expect(JSON.stringify(json(response)['output'])).toBe(JSON.stringify({ ok: nested(20) }));
  });

  it('a custom adapter output nested 5 000 deep fails its phase with 422 FLOWD_ERR_LIMIT_EXCEEDED; the record is stored and served', async () => {
    const body = expectProblem(await execute('deep-adapter'), 422, 'FLOWD_ERR_LIMIT_EXCEEDED');
    expect(String(body['detail'])).toContain('the output of phase "make" is nested deeper than');
    const id = (body['execution'] as { executionId: string }).executionId;
    expect((await t.service.app.inject({ method: 'GET', url: `/executions/${id}` })).statusCode).toBe(200);
  });

  it('an expression building a value nested past the limit fails with 422 FLOWD_ERR_EXPRESSION_FAILED', async () => {
    const body = expectProblem(await execute('deep-expression'), 422, 'FLOWD_ERR_EXPRESSION_FAILED');
    expect(String(body['detail'])).toContain(`nested more than ${MAX_VALUE_NESTING} levels deep`);
  });
});
