/**
 * Issue rule 8 (fuzzing) — property-based fuzzing of the flow loader and compiler with fast-check:
 * random flow definitions (shaped like flows, so they get deep into the compiler), mutations of
 * the example flows, and random file text. The compiler either returns compiled flows or throws
 * a ConfigurationError — never anything else, never a hang; the parser never throws at all.
 * Bounded: 200 runs per property, 2 s per compile.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { Agent } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../src/errors.js';
import { FlowEngine } from '../../src/engine/flow-engine.js';
import { TERMINAL_STATUSES, type ExecutionRecord } from '../../src/engine/record.js';
import type { CompiledFlow } from '../../src/flows/compiled.js';
import { compileFlows, type FlowSource } from '../../src/flows/compiler.js';
import { parseFlowText, readFlowDirectory } from '../../src/flows/loader.js';
import { parseFlowDefinition } from '../../src/flows/parse-flow.js';
import { FlowDefinitionSchema } from '../../src/flows/schema.js';
import { createBuiltinRegistry } from '../../src/library.js';

const RUNS = Number(process.env["FUZZ_RUNS"] ?? 200);
/** Each mutation recompiles every example flow (~200 ms): fewer runs, same bound on time. */
const MUTATION_RUNS = 60;
const EXAMPLES_DIR = fileURLToPath(new URL('../../flows/', import.meta.url));

const agent = new Agent();
const registry = createBuiltinRegistry({ dispatcher: agent });
afterAll(async () => {
  await agent.close();
});

/** Compiles; anything thrown that is not a ConfigurationError fails the property. Closes what it built. */
function compileOrConfigError(sources: readonly FlowSource[], use?: (flows: Map<string, CompiledFlow>) => void): 'compiled' | 'refused' {
  const started = performance.now();
  try {
    const flows = compileFlows(sources, { adapters: registry, env: { TOKEN: 'fuzz-secret-value' } });
    use?.(flows);
    for (const flow of flows.values()) for (const component of flow.components.values()) void component.instance.close?.();
    return 'compiled';
  } catch (error) {
    if (!(error instanceof ConfigurationError)) {
      throw new Error(`compiler threw ${(error as Error)?.name}: ${(error as Error)?.message}`, { cause: error });
    }
    return 'refused';
  } finally {
    expect(performance.now() - started).toBeLessThan(2000);
  }
}

const PHASE_IDS = ['a', 'b', 'c', 'item', 'phases', 'x_1', 'Z'];
const FLOW_NAMES = ['f1', 'f2', 'f3'];
const id = fc.oneof(fc.constantFrom(...PHASE_IDS), fc.string({ maxLength: 8 }));
const expressionText = fc.oneof(
  fc.constantFrom(
    'input',
    'input.x + 1',
    '$sum(input.items)',
    'phases.a',
    'phases.b.c',
    'item',
    'index',
    'result.body',
    'error.code',
    'output',
    '$$',
    '$',
    '',
    ')',
    'input.a.',
    "$error('x')",
    'function($x){$x}',
    '[1..5]',
    "{'a': input}",
    'deps.f1',
    'execution.id',
    '$eval(input.code)',
    'input ? 1 : 2',
    '$x := 1',
  ),
  fc.string({ maxLength: 20 }),
);
const template = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  expressionText.map((text) => `{% ${text} %}`),
  fc.constantFrom('{%', '%}', '{% {% x %} %}', 'plain', '${secret:TOKEN}', '${secret:MISSING}', '{% input %} and {% input %}'),
  fc.dictionary(fc.string({ maxLength: 6 }), expressionText.map((text) => `{% ${text} %}`), { maxKeys: 3 }),
);
const ms = fc.oneof(fc.integer({ min: -5, max: 100_000 }), fc.double(), fc.constant(0), fc.string({ maxLength: 4 }));

const component = fc.oneof(
  fc.record(
    {
      adapter: fc.constant('mock'),
      responses: fc.dictionary(fc.constantFrom('default', 'GET /x', 'bad'), fc.record({ status: fc.integer({ min: 0, max: 700 }), body: template, latency_ms: ms }, { requiredKeys: [] }), { maxKeys: 2 }),
      sequence: fc.array(fc.record({ status: fc.integer({ min: 100, max: 599 }), body: template }, { requiredKeys: [] }), { maxLength: 2 }),
      failure_rate: fc.double(),
    },
    { requiredKeys: ['adapter'] },
  ),
  fc.record(
    {
      adapter: fc.constant('http'),
      base_url: fc.oneof(fc.webUrl(), fc.constantFrom('http://127.0.0.1:1', 'ftp://x', 'http://user:pass@h/', 'not a url', 'http://h/${secret:TOKEN}'), fc.string({ maxLength: 10 })),
      headers: fc.dictionary(fc.string({ maxLength: 10 }), fc.oneof(fc.string({ maxLength: 10 }), fc.constant('a\r\nb'), fc.constant('Bearer ${secret:TOKEN}')), { maxKeys: 2 }),
      follow_redirects: fc.integer({ min: -1, max: 20 }),
      max_response_bytes: fc.integer(),
      redirect_origins: fc.array(fc.string({ maxLength: 10 }), { maxLength: 2 }),
    },
    { requiredKeys: ['adapter'] },
  ),
  fc.record({ adapter: fc.constantFrom('delay', 'transform', 'nope', ''), ms, timeout_ms: ms }, { requiredKeys: ['adapter'] }),
  fc.record(
    {
      adapter: fc.constant('mock'),
      retry_policy: fc.record({ max_attempts: fc.integer({ min: -1, max: 20 }), initial_delay_ms: ms, backoff_factor: fc.double(), jitter: fc.constantFrom('full', 'none', 'x'), retry_on: fc.array(fc.constantFrom('network', '5xx', 'x'), { maxLength: 2 }) }, { requiredKeys: [] }),
      circuit_breaker: fc.record({ consecutive_failures: fc.integer(), failure_ratio: fc.double(), min_calls: fc.integer(), window_ms: ms, half_open_after_ms: ms }, { requiredKeys: [] }),
      bulkhead: fc.record({ max_concurrent: fc.integer({ min: -1, max: 20_000 }), max_queue: fc.integer() }, { requiredKeys: [] }),
    },
    { requiredKeys: ['adapter'] },
  ),
  fc.jsonValue({ maxDepth: 2 }),
);

const { phase } = fc.letrec((tie) => ({
  phase: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record(
      {
        id,
        component: fc.constantFrom('transform', 'delay', 'c1', 'c2', 'nope', ''),
        request: template,
        output: template,
        timeout_ms: ms,
        cache: fc.record({ ttl_ms: ms, key: fc.oneof(expressionText.map((t) => `{% ${t} %}`), fc.string({ maxLength: 5 })) }, { requiredKeys: [] }),
        on_error: fc.record({ fallback: template }),
        compensate: fc.record({ component: fc.constantFrom('c1', 'c2', 'nope'), request: template }, { requiredKeys: [] }),
      },
      { requiredKeys: ['id', 'component'] },
    ),
    fc.record({
      id,
      decision: fc.array(
        fc.oneof(
          fc.record({ when: expressionText.map((t) => `{% ${t} %}`), phases: fc.array(tie('phase'), { maxLength: 2 }), goto: id, max_iterations: fc.integer({ min: 0, max: 20 }) }, { requiredKeys: ['when'] }),
          fc.record({ otherwise: fc.array(tie('phase'), { maxLength: 2 }) }),
        ),
        { maxLength: 3 },
      ),
    }),
    fc.record({ id, parallel: fc.dictionary(id, fc.array(tie('phase'), { maxLength: 2 }), { maxKeys: 3 }) }),
    fc.record({
      id,
      map: fc.record(
        { items: expressionText.map((t) => `{% ${t} %}`), concurrency: fc.integer({ min: -1, max: 2000 }), max_items: fc.integer({ min: -1, max: 200_000 }), phases: fc.array(tie('phase'), { maxLength: 2 }), output: template },
        { requiredKeys: ['items'] },
      ),
    }),
    fc.record({ id, flow: fc.constantFrom(...FLOW_NAMES, '../x', 'F1', ''), input: template, output: template }, { requiredKeys: ['id', 'flow'] }),
    fc.jsonValue({ maxDepth: 1 }),
  ),
}));

const flowDefinition = fc.record(
  {
    name: fc.oneof(fc.constantFrom(...FLOW_NAMES), fc.string({ maxLength: 10 })),
    version: fc.oneof(fc.integer(), fc.string({ maxLength: 4 })),
    description: fc.string({ maxLength: 20 }),
    input: fc.oneof(
      fc.constant({ type: 'object', properties: { x: { type: 'number' } } }),
      fc.constant({ type: 'object', required: ['x'], properties: { x: { $ref: '#/nope' } } }),
      fc.constant({ $ref: 'http://example.com/schema.json' }),
      fc.constant({ type: 'object', properties: { s: { type: 'string', pattern: '(a+)+$' } } }),
      fc.jsonValue({ maxDepth: 3 }),
    ),
    examples: fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 2 }),
    timeout_ms: ms,
    transactional: fc.oneof(fc.boolean(), fc.string({ maxLength: 2 })),
    recovery_flow: fc.oneof(fc.constantFrom(...FLOW_NAMES), fc.record({ flow: fc.constantFrom(...FLOW_NAMES), on: fc.array(fc.string({ maxLength: 10 }), { maxLength: 2 }) })),
    persistence: fc.constantFrom('none', 'failed', 'all', 'x'),
    defaults: fc.record({ timeout_ms: ms, retry_policy: fc.record({ max_attempts: fc.integer({ min: -1, max: 20 }) }) }, { requiredKeys: [] }),
    components: fc.dictionary(fc.constantFrom('c1', 'c2', 'transform', 'bad name'), component, { maxKeys: 3 }),
    phases: fc.array(phase, { maxLength: 4 }),
    output: template,
    depends_on: fc.array(fc.record({ flow: fc.constantFrom(...FLOW_NAMES), input: template }, { requiredKeys: ['flow'] }), { maxLength: 2 }),
    triggers: fc.array(fc.record({ flow: fc.constantFrom(...FLOW_NAMES), on: fc.constantFrom('succeeded', 'failed', 'completed', 'x'), input: template }, { requiredKeys: ['flow'] }), { maxLength: 2 }),
  },
  { requiredKeys: ['name', 'phases'] },
);

/** Schema-valid skeletons with random expressions, ids and references: these reach the deep compiler stages. */
const validId = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f');
const validExpression = fc.oneof(
  { arbitrary: fc.constantFrom('input', 'input.x', "{'k': input.x}", '$count(input.items)', 'execution.id', '$$', '1 + 2'), weight: 8 },
  { arbitrary: fc.constantFrom('phases.a', 'phases.b.body', 'item', 'index', 'result.body', 'deps.leaf', 'error.code'), weight: 2 },
  { arbitrary: expressionText, weight: 1 },
);
const { validPhase } = fc.letrec((tie) => ({
  validPhase: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record(
      { id: validId, component: fc.constantFrom('transform', 'c1', 'delay'), request: validExpression.map((e) => `{% ${e} %}`), output: validExpression.map((e) => `{% ${e} %}`), on_error: fc.record({ fallback: validExpression.map((e) => `{% ${e} %}`) }) },
      { requiredKeys: ['id', 'component'] },
    ),
    fc.record({ id: validId, decision: fc.tuple(fc.record({ when: validExpression.map((e) => `{% ${e} %}`), phases: fc.array(tie('validPhase'), { minLength: 1, maxLength: 2 }) }), fc.record({ otherwise: fc.array(tie('validPhase'), { maxLength: 2 }) })).map((branches) => [...branches]) }),
    fc.record({ id: validId, parallel: fc.dictionary(fc.constantFrom('x', 'y', 'z'), fc.array(tie('validPhase'), { minLength: 1, maxLength: 2 }), { minKeys: 1, maxKeys: 2 }) }),
    fc.record({ id: validId, map: fc.record({ items: validExpression.map((e) => `{% ${e} %}`), concurrency: fc.integer({ min: 1, max: 4 }), phases: fc.array(tie('validPhase'), { minLength: 1, maxLength: 2 }) }) }),
    fc.record({ id: validId, flow: fc.constantFrom('leaf', 'leaf', 'f1', 'nope'), input: validExpression.map((e) => `{% ${e} %}`) }, { requiredKeys: ['id', 'flow'] }),
  ),
}));
const LEAF = { name: 'leaf', phases: [{ id: 'only', component: 'transform', request: '{% input %}' }] };
const mostlyValidFlow = (name: string) =>
  fc.record(
    {
      name: fc.constant(name),
      input: fc.constant({ type: 'object' }),
      components: fc.constant({ c1: { adapter: 'mock', responses: { default: { body: '{% request %}' } } } }),
      phases: fc.array(validPhase, { minLength: 1, maxLength: 3 }),
      output: validExpression.map((e) => `{% ${e} %}`),
      transactional: fc.boolean(),
    },
    { requiredKeys: ['name', 'phases'] },
  );

describe('fuzzing the one-pass reader of flow files', () => {
  it(`${RUNS} random and mostly valid definitions: it reports a problem exactly when the strict schema refuses`, () => {
    fc.assert(
      fc.property(fc.oneof(flowDefinition, mostlyValidFlow('f1')), (definition) => {
        const reported: string[] = [];
        const parsed = parseFlowDefinition(definition, (path, message) => reported.push(`${path.join('.')}: ${message}`));
        const strict = FlowDefinitionSchema.safeParse(definition);
        expect(reported.length === 0, reported.join('\n')).toBe(strict.success);
        expect(parsed?.valid ?? false).toBe(strict.success);
        if (strict.success) expect(parsed?.definition).toEqual(strict.data);
      }),
      // Counterexamples found by earlier runs, always checked first.
      { numRuns: RUNS, examples: [[{ name: 'a', phases: [{ id: 'a', parallel: {} }] }]] },
    );
  });
});

describe('fuzzing the compiler', () => {
  it(`${RUNS} schema-valid flows with random expressions, ids and references: compiled or ConfigurationError; compiled ones always end in a terminal record`, async () => {
    const outcomes = { compiled: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(mostlyValidFlow('f1'), fc.jsonValue({ maxDepth: 2 }), async (definition, input) => {
        let run: Promise<ExecutionRecord> | undefined;
        outcomes[
          compileOrConfigError([LEAF, definition].map((d, i) => ({ source: `<valid ${i}>`, definition: d })), (flows) => {
            // The engine never throws for a failed flow: input errors are thrown before anything runs, the rest is in the record.
            const engine = new FlowEngine({ flows });
            try {
              run = engine.execute('f1', { x: 1, items: [1, 2], extra: input }, { timeoutMs: 2000 });
            } catch (error) {
              expect((error as { code?: string }).code).toBe('FLOWD_ERR_INPUT_INVALID');
            }
          })
        ] += 1;
        if (run !== undefined) {
          const record = await run;
          expect(TERMINAL_STATUSES.has(record.status), `status ${record.status}`).toBe(true);
          if (record.status !== 'succeeded') expect(record.error?.code).toBeDefined();
        }
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
    // Both outcomes occur: the property reached the end of the compiler, not only its first check.
    expect(outcomes.compiled, JSON.stringify(outcomes)).toBeGreaterThan(0);
    expect(outcomes.refused, JSON.stringify(outcomes)).toBeGreaterThan(0);
  });

  it(`${RUNS} random flow-shaped definitions (1–3 flows referencing each other): compiled or ConfigurationError, nothing else`, () => {
    const outcomes = { compiled: 0, refused: 0 };
    fc.assert(
      fc.property(fc.array(flowDefinition, { minLength: 1, maxLength: 3 }), (definitions) => {
        outcomes[compileOrConfigError(definitions.map((definition, i) => ({ source: `<fuzz ${i}>`, definition })))] += 1;
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
    expect(outcomes.refused).toBeGreaterThan(0);
  });

  it(`${MUTATION_RUNS} mutations of the example flows (a random node replaced by random JSON): compiled or ConfigurationError`, { timeout: 60_000 }, () => {
    const examples = readdirSync(EXAMPLES_DIR)
      .filter((file) => file.endsWith('.yaml'))
      .map((file) => {
        const parsed = parseFlowText(readFileSync(join(EXAMPLES_DIR, file), 'utf8'), 'yaml');
        if (!('value' in parsed)) throw new Error(`example ${file} does not parse`);
        return parsed.value;
      });
    // The unmodified examples compile: the mutations start from valid flows.
    expect(compileOrConfigError(examples.map((definition, i) => ({ source: `<example ${i}>`, definition })))).toBe('compiled');
    const outcomes = { compiled: 0, refused: 0 };
    fc.assert(
      fc.property(fc.nat(), fc.nat(), fc.jsonValue({ maxDepth: 2 }), (which, where, replacement) => {
        const copy = structuredClone(examples);
        const target = copy[which % copy.length];
        const nodes = collectNodes(target);
        const [parent, key] = nodes[where % nodes.length]!;
        (parent as Record<string, unknown>)[key] = replacement;
        outcomes[compileOrConfigError(copy.map((definition, i) => ({ source: `<mutant ${i}>`, definition })))] += 1;
      }),
      { numRuns: MUTATION_RUNS, endOnFailure: true },
    );
    expect(outcomes.refused).toBeGreaterThan(0);
  });
});

/** Every [container, key] pair below `value`, for picking a node to replace. */
function collectNodes(value: unknown, out: [object, string | number][] = []): [object, string | number][] {
  if (typeof value !== 'object' || value === null) return out;
  for (const [key, child] of Object.entries(value)) {
    out.push([value, Array.isArray(value) ? Number(key) : key]);
    collectNodes(child, out);
  }
  return out;
}

describe('fuzzing the parser and the directory reader', () => {
  const yamlish = fc.oneof(
    fc.string({ maxLength: 300 }),
    fc.array(fc.constantFrom('name: x\n', 'a: &a [1,2]\n', 'b: *a\n', 'c: *missing\n', '- - -\n', '  - {a: }\n', '!!binary |\n', '? complex\n', '<<: *a\n', '%YAML 1.1\n', '---\n', '...\n', '"\\u0000"\n', '{{{{\n', '&x a: *x\n', 'k: !!str\n'), { maxLength: 12 }).map((parts) => parts.join('')),
  );

  it(`${RUNS} random texts as YAML and JSON: parseFlowText returns a value or an error, never throws`, () => {
    fc.assert(
      fc.property(yamlish, fc.constantFrom('yaml', 'json'), (text, format) => {
        const result = parseFlowText(text, format);
        expect('value' in result || 'error' in result).toBe(true);
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
  });

  it(`${Math.floor(RUNS / 4)} random directories of files: readFlowDirectory reports, never throws`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(fc.stringMatching(/^[A-Za-z0-9._-]{1,20}\.(yaml|yml|json|txt)$/), yamlish, { maxKeys: 5 }),
        async (files) => {
          const dir = mkdtempSync(join(tmpdir(), 'flowd-fuzz-'));
          try {
            for (const [name, text] of Object.entries(files)) {
              if (name === '.' || name === '..') continue;
              writeFileSync(join(dir, name), text);
            }
            const { sources, issues } = await readFlowDirectory(dir);
            expect(Array.isArray(sources) && Array.isArray(issues)).toBe(true);
            compileOrConfigError(sources);
          } finally {
            rmSync(dir, { recursive: true, force: true });
          }
        },
      ),
      { numRuns: Math.floor(RUNS / 4), endOnFailure: true },
    );
  });
});
