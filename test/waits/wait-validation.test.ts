/** Waits are checked at load like every other key (issue 15): each mistake at its path, in plain words. */
import { Agent } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigurationError, type ConfigurationIssue } from '../../src/errors.js';
import { compileFlows } from '../../src/flows/compiler.js';
import { createBuiltinRegistry } from '../../src/library.js';

const dispatcher = new Agent();
afterAll(() => dispatcher.close());

function issuesOf(...flows: Record<string, unknown>[]): ConfigurationIssue[] {
  try {
    compileFlows(flows.map((definition, index) => ({ source: `f${index}.yaml`, definition })), { adapters: createBuiltinRegistry({ dispatcher }), env: {} });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return [...(error as ConfigurationError).issues];
  }
  throw new Error('expected the flows to be refused');
}

const messages = (issues: ConfigurationIssue[], path: string): string[] => issues.filter((issue) => issue.path === path).map((issue) => issue.message);

describe('waits at load', () => {
  it('a signal wait needs a timeout; a wait waits for one thing; time waits take no signal keys', () => {
    const issues = issuesOf({
      name: 'w',
      phases: [
        { id: 'a', wait: { signal: 'go' } },
        { id: 'b', wait: { for: '1m', signal: 'go', timeout: '1h' } },
        { id: 'c', wait: {} },
        { id: 'd', wait: { for: '1m', on_timeout: 'fail' } },
        { id: 'e', wait: { for: '3 days' } },
      ],
    });
    expect(messages(issues, 'phases[0].wait.timeout')[0]).toMatch(/^is required for a signal wait: how long to wait for "go"/);
    expect(messages(issues, 'phases[1].wait')).toEqual(['a wait waits for one thing, found: for, signal (use separate wait phases)']);
    expect(messages(issues, 'phases[2].wait')[0]).toMatch(/^a wait needs one of: for/);
    expect(messages(issues, 'phases[3].wait.on_timeout')[0]).toMatch(/^only a signal wait has on_timeout/);
    expect(issues.find((issue) => issue.path.startsWith('phases[4].wait.for'))?.message).toContain('"90s", "15m", "36h", "3d"');
  });

  it('no wait inside a parallel branch or a map; no persistence none for a flow that waits', () => {
    const issues = issuesOf({
      name: 'w',
      persistence: 'none',
      phases: [
        { id: 'fan', parallel: { left: [{ id: 'l', wait: { for: '1m' } }], right: [{ id: 'r', component: 'transform', request: {} }] } },
        { id: 'each', map: { items: '{% [1,2] %}', phases: [{ id: 'm', wait: { signal: 's', timeout: '1h' } }] } },
      ],
    });
    expect(messages(issues, 'phases[0].parallel.left[0]')[0]).toMatch(/^a phase that waits cannot run in a parallel branch \(fan\)/);
    expect(messages(issues, 'phases[1].map.phases[0]')[0]).toMatch(/^a phase that waits cannot run inside a map \(each\)/);
    expect(messages(issues, 'persistence')[0]).toMatch(/^a flow that waits is stored while it waits/);
  });

  it('a flow that waits cannot be a sub-flow (it would run inside its parent\'s run); a trigger may start it', () => {
    const issues = issuesOf(
      { name: 'approval', phases: [{ id: 'ask', wait: { signal: 'ok', timeout: '1d' } }] },
      { name: 'parent', phases: [{ id: 'child', flow: 'approval' }], triggers: [{ flow: 'approval' }] },
    );
    expect(messages(issues, 'phases[0].flow')[0]).toMatch(/^flow "approval" waits .*as a sub-flow it would run inside this flow's run.*start it with `triggers` instead/);
    expect(issues.filter((issue) => issue.path.startsWith('triggers'))).toEqual([]);
  });

  it('a payload schema is checked as JSON Schema, and one signal name has one schema', () => {
    const issues = issuesOf({
      name: 'w',
      phases: [
        { id: 'a', wait: { signal: 'go', timeout: '1h', schema: { type: 'objekt' } } },
        { id: 'b', wait: { signal: 'again', timeout: '1h', schema: { type: 'object' } } },
        { id: 'c', wait: { signal: 'again', timeout: '1h', schema: { type: 'string' } } },
      ],
    });
    expect(issues.find((issue) => issue.path.startsWith('phases[0].wait.schema'))?.message).toContain('did you mean "object"?');
    expect(messages(issues, 'phases[2].wait.schema')[0]).toMatch(/^signal "again" is also waited for at phases\[1\]/);
  });

  it('a callback request may use callback.url; other phases may not', () => {
    const issues = issuesOf({
      name: 'w',
      components: { psp: { adapter: 'http', base_url: 'https://psp.example.com' } },
      phases: [
        { id: 'ok', component: 'psp', request: { method: 'POST', path: '/x', body: { to: '{% callback.url %}' } }, callback: { timeout: '1h' } },
        { id: 'bad', component: 'psp', request: { method: 'POST', path: '/y', body: { to: '{% callback.url %}' } } },
      ],
    });
    expect(issues.filter((issue) => issue.path.startsWith('phases[0]'))).toEqual([]);
    expect(messages(issues, 'phases[1].request')[0]).toMatch(/^"callback" is not visible here/);
  });
});
