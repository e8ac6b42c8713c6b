import { Agent } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigurationError, type ConfigurationIssue } from '../../src/errors.js';
import { compileFlows, type FlowSource } from '../../src/flows/compiler.js';
import { parseFlowText } from '../../src/flows/loader.js';
import { createBuiltinRegistry } from '../../src/library.js';

const dispatcher = new Agent();
afterAll(() => dispatcher.close());

function issuesOf(files: Record<string, string>): ConfigurationIssue[] {
  const sources: FlowSource[] = Object.entries(files).map(([source, text]) => {
    const parsed = parseFlowText(text, 'yaml');
    if (!('value' in parsed)) throw new Error(parsed.error);
    return { source, definition: parsed.value };
  });
  try {
    compileFlows(sources, { adapters: createBuiltinRegistry({ dispatcher }), env: {} });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return [...(error as ConfigurationError).issues];
  }
  throw new Error('expected the flows to be refused');
}

const at = (issues: ConfigurationIssue[], path: string) => issues.filter((issue) => issue.path === path).map((issue) => issue.message);

/** A flow with one mistake of every kind: the first load reports all of them. */
const BROKEN = `
name: greeting
input:
  type: object
  properties:
    name: { type: string, minLenght: 1 }
    lines: { type: integr }
components:
  api: { adapter: htp, base_url: "http://127.0.0.1:3000" }
  mail: { adapter: mock, timeout_msx: 100 }
phases:
  - id: tone
    component: transfrom
    reqest: "{% input.name %}"
    retry_policy: { max_attempts: 0, jitter: ful }
  - id: check
    component: transform
    request: "{% phases.tne %}"
  - id: shout
    component: transform
    request: "{% $uppercase(input.name & %}"
  - id: route
    decision:
      - when: "{% true %}"
        goto: tnoe
        phases: []
      - otherwise: []
  - id: sub
    flow: greting
  - id: later
    componnt: transform
depends_on: [{ flow: helo }]
recovery_flow: { flow: greetin }
`;

describe('flow-file problems: all of them in one pass, in plain words', () => {
  const issues = issuesOf({ 'flows/greeting.yaml': BROKEN, 'flows/hello.yaml': 'name: hello\nphases:\n  - { id: a, component: transform, request: 1 }\n' });

  it('names the file of every problem', () => {
    expect(new Set(issues.map((issue) => issue.file))).toEqual(new Set(['flows/greeting.yaml']));
  });

  it('unknown keys: the path of the key, a did-you-mean and the keys allowed there', () => {
    expect(at(issues, 'phases[0].reqest')).toEqual([
      'unknown key "reqest" (did you mean "request"?); allowed here: cache, callback, compensate, component, description, id, on_error, output, request, retry_policy, timeout_ms',
    ]);
    expect(at(issues, 'components.mail.timeout_msx')[0]).toMatch(/^unknown key "timeout_msx" \(did you mean "timeout_ms"\?\); allowed here: .*latency_ms/);
    expect(at(issues, 'phases[5]')).toEqual(['a phase needs exactly one of: component, decision, parallel, map, flow, wait (found keys: id, componnt) (did you mean "component"?)']);
  });

  it('invalid values: what was found, what is allowed, and the near value', () => {
    expect(at(issues, 'phases[0].retry_policy.max_attempts')).toEqual(['must be at least 1 (found the number 0)']);
    expect(at(issues, 'phases[0].retry_policy.jitter')).toEqual(['must be one of: full, none (found the string "ful") (did you mean "full"?)']);
  });

  it('adapters, components, phase ids and flow names get a did-you-mean', () => {
    expect(at(issues, 'components.api.adapter')).toEqual(['unknown adapter "htp" (did you mean "http"?); registered adapters: http, transform, delay, mock, sql, amqp, nats, mqtt, redis']);
    expect(at(issues, 'phases[0].component')).toEqual(['unknown component "transfrom" (did you mean "transform"?); declared: api, mail, transform, delay']);
    expect(at(issues, 'phases[1].request')).toEqual(['references phases.tne, but no phase has the id "tne" (did you mean "tone"?); phases that have run here: tone']);
    expect(at(issues, 'phases[3].decision[0].goto')[0]).toMatch(/^goto "tnoe" must name a phase of the same list as the decision "route" \(did you mean "tone"\?\)/);
    expect(at(issues, 'phases[4].flow')).toEqual(['unknown flow "greting" (did you mean "greeting"?); flows in this directory: greeting, hello']);
    expect(at(issues, 'depends_on[0].flow')).toEqual(['unknown flow "helo" (did you mean "hello"?); flows in this directory: greeting, hello']);
    expect(at(issues, 'recovery_flow')).toEqual(['unknown flow "greetin" (did you mean "greeting"?); flows in this directory: greeting, hello']);
  });

  it('an expression syntax error says so, with the position and a caret under the expression', () => {
    expect(at(issues, 'phases[2].request')).toEqual([
      'syntax error at character 24 of the expression: Expected ")" before end of expression (JSONata S0203)\n    $uppercase(input.name &\n                           ^',
    ]);
  });

  it('the input JSON Schema: every problem at its path, unknown keywords and type names with a did-you-mean', () => {
    expect(at(issues, 'input.properties.name.minLenght')).toEqual(['unknown JSON Schema keyword "minLenght" (did you mean "minLength"?)']);
    expect(at(issues, 'input.properties.lines.type')).toEqual([
      'invalid JSON Schema: must be one of: "array", "boolean", "integer", "null", "number", "object", "string" (found the string "integr") (did you mean "integer"?)',
    ]);
  });

  it('reports nothing twice, and nothing that only follows from another problem', () => {
    const keys = issues.map((issue) => `${issue.path}: ${issue.message}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(issues).toHaveLength(15);
  });
});
