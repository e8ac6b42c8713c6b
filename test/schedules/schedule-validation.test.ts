import { Agent } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigurationError, type ConfigurationIssue } from '../../src/errors.js';
import { compileFlows, type FlowSource } from '../../src/flows/compiler.js';
import { parseFlowText } from '../../src/flows/loader.js';
import { createBuiltinRegistry } from '../../src/library.js';

const dispatcher = new Agent();
afterAll(() => dispatcher.close());

function sources(text: string): FlowSource[] {
  const parsed = parseFlowText(text, 'yaml');
  if (!('value' in parsed)) throw new Error(parsed.error);
  return [{ source: 'flows/nightly.yaml', definition: parsed.value }];
}

function issuesOf(text: string): ConfigurationIssue[] {
  try {
    compileFlows(sources(text), { adapters: createBuiltinRegistry({ dispatcher }), env: {} });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return [...(error as ConfigurationError).issues];
  }
  throw new Error('expected the flow to be refused');
}

const flow = (schedules: string) => `
name: nightly
input:
  type: object
  required: [day]
  properties:
    day: { type: string, enum: [today, yesterday] }
phases:
  - { id: a, component: transform, request: "{% input.day %}" }
schedules:
${schedules}`;

describe('schedules at load', () => {
  it('compiles a valid schedule with its next occurrence in its time zone', () => {
    const compiled = compileFlows(sources(flow('  - { name: nightly, cron: "0 2 * * *", timezone: Europe/Paris, input: { day: yesterday }, missed: run_once }')), {
      adapters: createBuiltinRegistry({ dispatcher }),
      env: {},
    });
    const [schedule] = compiled.get('nightly')!.schedules;
    expect(schedule).toMatchObject({ name: 'nightly', timezone: 'Europe/Paris', missed: 'run_once', input: { day: 'yesterday' } });
    // 02:00 in Paris in winter is 01:00 UTC; in summer 00:00 UTC.
    expect(new Date(schedule!.next(Date.parse('2026-01-10T12:00:00Z'))!).toISOString()).toBe('2026-01-11T01:00:00.000Z');
    expect(new Date(schedule!.next(Date.parse('2026-07-10T12:00:00Z'))!).toISOString()).toBe('2026-07-11T00:00:00.000Z');
  });

  it('says why a cron expression is invalid, names an unknown time zone with a did-you-mean, and checks the input against the schema', () => {
    const issues = issuesOf(
      flow([
        '  - { name: a, cron: "61 2 * * *", input: { day: today } }',
        '  - { name: b, cron: "0 2 * * *", timezone: Europe/Pariss, input: { day: today } }',
        '  - { name: c, cron: "0 2 * * *", input: { day: tomorrow } }',
        '  - { name: a, cron: "0 3 * * *", input: { day: today } }',
      ].join('\n')),
    );
    const at = (path: string) => issues.filter((issue) => issue.path === path).map((issue) => issue.message);
    expect(issues.every((issue) => issue.file === 'flows/nightly.yaml')).toBe(true);
    expect(at('schedules[0].cron')).toEqual([
      'invalid cron expression "61 2 * * *": Invalid value for minute: 61; use five fields "minute hour day-of-month month day-of-week" (e.g. "0 2 * * *"), optionally with seconds first',
    ]);
    expect(at('schedules[1].timezone')[0]).toMatch(/^unknown time zone "Europe\/Pariss" \(did you mean "Europe\/Paris"\?\); use an IANA name/);
    expect(at('schedules[2].input.day')[0]).toMatch(/^schedule input does not match the flow's input schema: /);
    expect(at('schedules[3].name')).toEqual(['schedule name "a" is used twice in this flow; give each schedule its own name']);
  });

  it('refuses an unknown missed policy, naming the allowed ones', () => {
    const issues = issuesOf(flow('  - { name: d, cron: "0 3 * * *", missed: sometimes, input: { day: today } }'));
    expect(issues.find((issue) => issue.path === 'schedules[0].missed')?.message).toMatch(/skip.*run_once|run_once.*skip/);
  });
});
