/**
 * JSON Schema validation cannot hold the event loop (found by an audit: with ajv's own engines a
 * backtracking `pattern` on 31 characters froze the process for 52 s, `uniqueItems` over 10 000
 * objects for 6.5 s): patterns run on RE2, uniqueItems in linear time, and an answer lists at most
 * 100 problems however many a small body holds. The inputs below would take ajv's engines minutes
 * (2^40 backtracking steps; 1.25 billion item comparisons), so on the old code these tests run into
 * their time limit; nothing here measures time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileInputSchema } from '../../src/flows/input-schema.js';
import { makeFlowDir } from '../helpers/flow-dir.js';
import { startTestService, type TestService } from '../helpers/service.js';

const FLOWS = {
  'names.yaml': `name: names
input:
  type: object
  properties:
    name: { type: string, maxLength: 64, pattern: "^(\\\\w+\\\\s?)*$" }
    tags: { type: array, uniqueItems: true }
    strict:
      type: object
      additionalProperties: false
      properties: { a: { type: integer } }
phases:
  - id: echo
    component: transform
    request: "{% input %}"
`,
};

describe('JSON Schema validation of callers input', () => {
  let service: TestService;
  let flows: ReturnType<typeof makeFlowDir>;
  const execute = async (input: unknown): Promise<{ status: number; body: Record<string, unknown> }> => {
    const response = await service.app.inject({ method: 'POST', url: '/flows/names/execute', payload: { input } });
    return { status: response.statusCode, body: response.json() };
  };

  beforeAll(async () => {
    flows = makeFlowDir(FLOWS);
    // Wider arrays than the default 10 000 items (MAX_JSON_WIDTH), where ajv's own uniqueItems took 6.5 s.
    service = await startTestService({ FLOWS_DIR: flows.dir, LOG_LEVEL: 'warn', MAX_JSON_WIDTH: '100000' });
  });

  afterAll(async () => {
    await service?.close();
    flows?.cleanup();
  });

  it('a pattern that backtracks exponentially in a regex engine is matched in linear time', async () => {
    const refused = await execute({ name: `${'a'.repeat(40)}!` });
    expect(refused.status).toBe(400);
    expect(refused.body['issues']).toEqual([{ path: 'input.name', message: 'must match the pattern ^(\\w+\\s?)*$' }]);
    expect((await execute({ name: 'two words' })).status).toBe(200);
  });

  it('uniqueItems over 50 000 objects answers, and finds duplicates whatever their key order', async () => {
    const tags = Array.from({ length: 50_000 }, (_, i) => ({ i, s: 'x' }));
    expect((await execute({ tags })).status).toBe(200);
    const repeated = await execute({ tags: [...tags.slice(0, 10), { s: 'x', i: 3 }] });
    expect(repeated.status).toBe(400);
    expect(repeated.body['issues']).toEqual([{ path: 'input.tags', message: 'must not repeat items (items 3 and 10 are equal)' }]);
    // Equal as JSON Schema says: 1 and "1" differ, as do [1] and {"0": 1}.
    expect((await execute({ tags: [1, '1', [1], { 0: 1 }, null, false, 0] })).status).toBe(200);
  });

  it('lists the first 100 problems of a body holding thousands, and counts the rest', async () => {
    const strict = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, i]));
    const answer = await execute({ strict });
    expect(answer.status).toBe(400);
    const issues = answer.body['issues'] as { path: string; message: string }[];
    expect(issues).toHaveLength(101);
    expect(issues[0]).toMatchObject({ path: 'input.strict.k0', message: expect.stringMatching(/^is not allowed here/) as unknown });
    expect(issues[100]).toEqual({ path: 'input', message: 'has 4900 more problems, not listed (the first 100 are)' });
  });
});

describe('patterns at load', () => {
  it('a pattern RE2 cannot run (lookaround, backreferences) is refused with the reason and the way out', () => {
    const problems: string[] = [];
    expect(compileInputSchema({ type: 'string', pattern: '^(?!admin).*$' }, (path, message) => problems.push(`${path}: ${message}`))).toBeUndefined();
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^input: invalid JSON Schema: pattern "\^\(\?!admin\)\.\*\$" cannot run in linear time \(.*\): flowd matches patterns with RE2, which has no lookaround/);
  });

  it('each pattern keeps its own meaning when a flow has several (ajv shares compiled patterns by their text)', () => {
    const validate = compileInputSchema(
      { type: 'object', properties: { a: { type: 'string', pattern: '^[a-z]+$' }, b: { type: 'string', pattern: '^[0-9]+$' }, c: { type: 'string', pattern: '^x' } } },
      () => undefined,
    )!;
    expect(validate({ a: 'abc', b: '123', c: 'xy' })).toBeUndefined();
    expect(validate({ a: '123', b: 'abc', c: 'yx' })?.map((issue) => issue.path)).toEqual(['input.a', 'input.b', 'input.c']);
  });

  it('a schema with an $id compiles again (a reload) and beside another naming the same $id; its $refs resolve', () => {
    const make = () => ({
      $id: 'https://example.com/schemas/order',
      type: 'object',
      properties: { line: { $ref: '#/$defs/line' } },
      $defs: { line: { type: 'object', required: ['qty'], properties: { qty: { type: 'integer', minimum: 1 } } } },
    });
    const problems: string[] = [];
    const first = compileInputSchema(make(), (path, message) => problems.push(`${path}: ${message}`));
    const again = compileInputSchema(make(), (path, message) => problems.push(`${path}: ${message}`));
    expect(problems).toEqual([]);
    expect(again!({ line: { qty: 0 } })).toEqual([{ path: 'input.line.qty', message: 'must be at least 1' }]);
    expect(first!({ line: { qty: 2 } })).toBeUndefined();
  });
});
