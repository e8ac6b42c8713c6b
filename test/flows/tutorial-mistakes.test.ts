import { readFileSync } from 'node:fs';
import { Agent } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../src/errors.js';
import { compileFlows } from '../../src/flows/compiler.js';
import { parseFlowText } from '../../src/flows/loader.js';
import { createBuiltinRegistry } from '../../src/library.js';

const README = readFileSync('README.md', 'utf8');
/** The tutorial's flow, as step 2 of the README shows it (the block is indented in a list item). */
const TUTORIAL_FLOW = /<!-- check: flow file=flows\/greeting\.yaml -->\n\s*```yaml\n([\s\S]*?)\n\s*```/
  .exec(README)![1]!
  .split('\n')
  .map((line) => line.replace(/^ {3}/, ''))
  .join('\n');

const dispatcher = new Agent();
afterAll(() => dispatcher.close());

/** What flowd prints for the flow (a rejected reload, `flowd validate`, `npm start`): one line per problem (the first line of a multi-line message). */
function problems(text: string): string[] {
  const parsed = parseFlowText(text, 'yaml');
  if (!('value' in parsed)) throw new Error(parsed.error);
  try {
    compileFlows([{ source: 'flows/greeting.yaml', definition: parsed.value }], { adapters: createBuiltinRegistry({ dispatcher }), env: {} });
    return [];
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    return error.issues.map((issue) => `${issue.file}: ${issue.path}: ${issue.message.split('\n')[0]}`);
  }
}

/** The README tutorial's table of mistakes: each change, made to the tutorial's flow. */
const MISTAKES: [string, string, string][] = [
  ['component: flowd_apii', 'component: flowd_api\n', 'component: flowd_apii\n'],
  ['a syntax error in hello', `request: "{% 'Hello, ' & input.name %}"`, 'request: "{% input.name & %}"'],
  ['phases.upper inside thanks', `request: "{% 'Thank you, ' & input.name & '!' %}"`, `request: "{% 'Thank you, ' & input.name & phases.upper %}"`],
  ['type: integr', 'lines: { type: integer, minimum: 0 }', 'lines: { type: integr, minimum: 0 }'],
  ['an example without lines', 'ada: { name: Ada, lines: 3 }', 'ada: { name: Ada }'],
];

describe("the README tutorial's table of mistakes", () => {
  it('starts from a flow that loads', () => {
    expect(problems(TUTORIAL_FLOW)).toEqual([]);
  });

  for (const [name, from, to] of MISTAKES) {
    it(`shows what flowd really prints for ${name}`, () => {
      expect(TUTORIAL_FLOW).toContain(from);
      const printed = problems(TUTORIAL_FLOW.replace(from, to));
      expect(printed).toHaveLength(1);
      expect(README).toContain(`\`${printed[0]}\``);
    });
  }
});
