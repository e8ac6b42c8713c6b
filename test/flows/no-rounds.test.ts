import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Agent } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/cli-io.js';
import { runCli } from '../../src/cli/main.js';
import { ConfigurationError } from '../../src/errors.js';
import { compileFlows } from '../../src/flows/compiler.js';
import { parseFlowText } from '../../src/flows/loader.js';
import { createBuiltinRegistry } from '../../src/library.js';

/**
 * One problem must not hide another of the same file until it is fixed ("fix four, get four new
 * ones"): an invalid key or entry leaves the checks of the rest (flow references, expressions,
 * components, examples) running in the same pass.
 */

const dispatcher = new Agent();
const scratch = await mkdtemp(path.join(tmpdir(), 'flowd-rounds-'));
afterAll(async () => {
  await dispatcher.close();
  await rm(scratch, { recursive: true, force: true });
});

/** `flowd validate` on a directory holding `files`: the problem lines it prints (its summary line left out). */
async function validate(files: Record<string, string>): Promise<string[]> {
  const dir = await mkdtemp(path.join(scratch, 'flows-'));
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  let stderr = '';
  const io: CliIo = { stdout: () => undefined, stderr: (text) => void (stderr += text), cwd: dir, env: {} };
  expect(await runCli(['validate', dir], io)).toBe(1);
  return stderr
    .trim()
    .split('\n')
    .filter((line) => !/^\d+ problems? in \d+ files?$/.test(line))
    .map((line) => line.slice(line.indexOf(': ') + 2));
}

/** The problems of one flow file (path: message), loaded beside `beta`. */
function problems(text: string): string[] {
  const beta = 'name: beta\nphases:\n  - { id: a, component: transform, request: 1 }\n';
  const sources = [text, beta].map((source, index) => ({ source: `f${index}.yaml`, definition: (parseFlowText(source, 'yaml') as { value: unknown }).value }));
  try {
    compileFlows(sources, { adapters: createBuiltinRegistry({ dispatcher }), env: {} });
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    return error.issues.map((issue) => `${issue.path}: ${issue.message.split('\n')[0]}`);
  }
  throw new Error('expected the flow to be refused');
}

const PHASES = 'phases:\n  - { id: a, component: transform, request: 1 }\n';

describe('flowd validate reports independent problems of a file in one pass (found by an audit)', () => {
  it('an unknown key in a depends_on entry and the unknown flow it names', async () => {
    const lines = await validate({
      'a.yaml': `name: a\ndepends_on:\n  - { flow: betta, within: 60000 }\n${PHASES}`,
      'beta.yaml': `name: beta\n${PHASES}`,
    });
    expect(lines).toEqual([
      'depends_on[0].within: unknown key "within"; allowed here: correlation_key, flow, input, within_ms',
      'depends_on[0].flow: unknown flow "betta" (did you mean "beta"?); flows in this directory: a, beta',
    ]);
  });

  it('an invalid keyword of the input schema and an example the rest of the schema refuses', async () => {
    const lines = await validate({
      'a.yaml': [
        'name: a',
        'input:',
        '  type: object',
        '  required: [amount, currency]',
        '  properties:',
        '    amount: { type: number, minimum: "0" }',
        '    currency: { type: string, enum: [EUR, USD] }',
        'examples:',
        '  small: { amount: 5, currency: eur }',
        PHASES,
      ].join('\n'),
    });
    expect(lines).toEqual([
      'input.properties.amount.minimum: invalid JSON Schema: must be a number (found the string "0")',
      'examples.small.currency: example does not match the input schema: must be one of: "EUR", "USD"',
    ]);
  });
});

describe('what else one problem no longer hides', () => {
  it('triggers, a recovery flow, schedules and examples: each entry checked on its own', () => {
    const text = [
      'name: a',
      'input: { type: object, properties: { s: { type: string } } }',
      'examples: { "bad name": {}, good: { s: 1 } }',
      'recovery_flow: { flow: betta, onn: [x] }',
      'triggers: [{ flow: betta, when: succeeded, input: "{% phases.nope %}" }]',
      'schedules: [{ name: Nightly, cron: "0 2 * * *", input: { s: 2 } }]',
      PHASES,
    ].join('\n');
    expect(problems(text)).toEqual([
      'examples.bad name: "bad name" is not a valid name here: must match ^[A-Za-z0-9_-]{1,64}$',
      'recovery_flow.onn: unknown key "onn" (did you mean "on"?); allowed here: flow, on',
      'triggers[0].when: unknown key "when"; allowed here: flow, input, on',
      'schedules[0].name: must match ^[a-z0-9][a-z0-9_-]{0,63}$ (found the string "Nightly")',
      'triggers[0].input: references phases.nope, but no phase has the id "nope"; phases that have run here: a',
      'examples.good.s: example does not match the input schema: must be a string (found an integer)',
      'schedules[0].input.s: schedule input does not match the flow\'s input schema: must be a string (found an integer)',
      'triggers[0].flow: unknown flow "betta" (did you mean "beta"?); flows in this directory: a, beta',
      'recovery_flow: unknown flow "betta" (did you mean "beta"?); flows in this directory: a, beta',
    ]);
  });

  it('an invalid decision branch keeps its place, and its phases are checked', () => {
    const text = [
      'name: a',
      'phases:',
      '  - id: d',
      '    decision:',
      '      - when: 5',
      '        phases: [{ id: x, component: nope }]',
      '      - junk',
      '      - { when: "{% true %}", goto: dd }',
      '      - otherwise: [{ id: y, component: transform }]',
    ].join('\n');
    expect(problems(text)).toEqual([
      'phases[0].decision[0].when: must be a string (found the number 5)',
      'phases[0].decision[1]: must be a branch: {when, phases} or {otherwise} (found the string "junk")',
      'phases[0].decision[0].phases[0].component: unknown component "nope"; declared: transform, delay',
      'phases[0].decision[2].goto: goto "dd" must name a phase of the same list as the decision "d" (did you mean "d"?); phases of that list: d',
    ]);
  });

  it("a map's phases are checked when its items are invalid", () => {
    expect(problems('name: a\nphases:\n  - id: m\n    map: { items: 5, phases: [{ id: x, component: nope, request: "{% item %}" }] }\n')).toEqual([
      'phases[0].map.items: must be a string (found the number 5)',
      'phases[0].map.phases[0].component: unknown component "nope"; declared: transform, delay',
    ]);
  });

  it('a phase with an invalid or missing id is still checked inside, and its id is no name for others', () => {
    const text = [
      'name: a',
      'phases:',
      '  - { id: "bad id!", component: transform, request: "{% input.x + %}" }',
      '  - { component: nope }',
      '  - { id: b, component: transform, request: "{% phases.bad %}" }',
    ].join('\n');
    expect(problems(text)).toEqual([
      'phases[0].id: must be an identifier usable in expressions (^[A-Za-z_][A-Za-z0-9_]{0,63}$) (found the string "bad id!")',
      'phases[1].id: is required',
      'phases[0].request: syntax error at character 10 of the expression: Unexpected end of expression (JSONata S0207)',
      'phases[1].component: unknown component "nope"; declared: transform, delay',
      'phases[2].request: references phases.bad, but no phase has the id "bad"; phases that have run here: none',
    ]);
  });

  it("a wait's other fields are checked when one of them is invalid", () => {
    const text = [
      'name: a',
      'persistence: all',
      'phases:',
      '  - id: s',
      '    wait: { signal: "bad name!", timeout: 3d, schema: { type: objet }, on_timeout: { output: "{% $x( %}" } }',
      '  - id: t',
      '    wait: { for: 3 weeks, timeout: 5 }',
      '  - id: u',
      '    wait: { until: 5 }',
    ].join('\n');
    expect(problems(text)).toEqual([
      'phases[0].wait.signal: must match ^[A-Za-z_][A-Za-z0-9_.-]{0,63}$ (found the string "bad name!")',
      'phases[1].wait.for: must be a number of milliseconds or a duration such as "90s", "15m", "36h", "3d" (found the string "3 weeks")',
      'phases[2].wait.until: must be a string (found the number 5)',
      expect.stringMatching(/^phases\[0\]\.wait\.schema\.type: invalid JSON Schema: must be one of: .* \(did you mean "object"\?\)$/),
      'phases[0].wait.on_timeout.output: syntax error at character 4 of the expression: Expected ")" before end of expression (JSONata S0203)',
      'phases[1].wait.timeout: only a signal wait has timeout (a wait for a time simply ends when the time comes)',
    ]);
  });

  it("a component's adapter and configuration are checked when one of its policies is invalid", () => {
    const text = `name: a\ncomponents:\n  api: { adapter: htp, timeout_ms: "1s" }\n  pay: { adapter: http, base_url: not-a-url, retry_policy: { max_attempts: 0 } }\nphases:\n  - { id: a, component: api }\n  - { id: b, component: pay }\n`;
    expect(problems(text)).toEqual([
      'components.api.timeout_ms: must be a number (found the string "1s")',
      'components.pay.retry_policy.max_attempts: must be at least 1 (found the number 0)',
      expect.stringMatching(/^components\.api\.adapter: unknown adapter "htp" \(did you mean "http"\?\)/),
      expect.stringMatching(/^components\.pay\.base_url: /),
    ]);
  });

  it('a request may use the callback of its phase while the callback is invalid', () => {
    expect(problems('name: a\nphases:\n  - id: c\n    component: transform\n    request: "{% callback.url %}"\n    callback: { timeout: 3d, timeot: 1 }\n')).toEqual([
      'phases[0].callback.timeot: unknown key "timeot" (did you mean "timeout"?); allowed here: on_timeout, schema, timeout',
    ]);
  });

  it('examples are checked against what a broken schema allows for sure: unknown keywords and formats left out, broken subschemas read as true', () => {
    const text = [
      'name: a',
      'input: { type: object, additionalProperties: no, properties: { s: { type: string, minLenght: 1 }, e: { format: emial } } }',
      'examples: { one: { s: 1, e: x, other: 2 } }',
      PHASES,
    ].join('\n');
    expect(problems(text)).toEqual([
      'input.properties.s.minLenght: unknown JSON Schema keyword "minLenght" (did you mean "minLength"?)',
      expect.stringMatching(/^input\.properties\.e\.format: unknown format "emial" \(did you mean "email"\?\)/),
      'input.additionalProperties: invalid JSON Schema: must be an object or true or false (found the string "no")',
      'examples.one.s: example does not match the input schema: must be a string (found an integer)',
    ]);
  });

  it('says nothing about examples when what the schema allows is not sure', () => {
    // Without its broken keyword, `not` would refuse more than any fix: the example is not checked.
    const notSure = problems(`name: a\ninput: { type: object, properties: { s: { type: string } }, not: { minimum: "0" } }\nexamples: { one: { s: 1 } }\n${PHASES}`);
    expect(notSure).toEqual(['input.not.minimum: invalid JSON Schema: must be a number (found the string "0")']);
    const structure = problems(`name: a\ninput: { type: object, properties: 5 }\nexamples: { one: { s: 1 } }\n${PHASES}`);
    expect(structure).toEqual([expect.stringMatching(/^input\.properties: invalid JSON Schema: /)]);
  });
});
