/** What the redis adapter refuses at load (with the path and a fix), and the test kit mocking a redis component. */
import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../../src/errors.js';
import { buildEngine } from '../../../src/library.js';
import { loadFlows, mockComponent } from '../../../src/testing/index.js';

const component = { adapter: 'redis', url: 'redis://127.0.0.1:6379/0', key_prefix: 'app:' };

async function loadIssues(request: unknown, config: Record<string, unknown> = component): Promise<string> {
  try {
    const built = await buildEngine({ flows: [{ name: 'f', components: { kv: config }, phases: [{ id: 'p', component: 'kv', request }] }] });
    await built.engine.close();
    return '';
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    return error.issues.map((issue) => `${issue.path}: ${issue.message}`).join('\n');
  }
}

describe('redis requests are checked at load', () => {
  it('accepts a command of the subset with its arguments (values may be expressions)', async () => {
    expect(await loadIssues({ command: 'set', key: '{% input.id %}', value: '{% input %}', ttl_ms: 1000 })).toBe('');
  });

  it('refuses a command chosen by an expression: commands never come from input', async () => {
    expect(await loadIssues({ command: '{% input.command %}', key: 'k' })).toMatch(/phases\[0\]\.request\.command: command must be one of .*not an expression/);
    expect(await loadIssues('{% input %}')).toMatch(/a redis request is \{ command/);
  });

  it('refuses a command outside the subset, with a did-you-mean', async () => {
    expect(await loadIssues({ command: 'flushall' })).toMatch(/"flushall" is not in the redis adapter's command subset/);
    expect(await loadIssues({ command: 'hgetal', key: 'k' })).toMatch(/did you mean "hgetall"/i);
    // Names every object has are no commands either.
    expect(await loadIssues({ command: 'toString' })).toMatch(/"toString" is not in the redis adapter's command subset/);
    expect(await loadIssues({ command: 'constructor' })).toMatch(/"constructor" is not in the redis adapter's command subset/);
  });

  it('names missing and unknown arguments', async () => {
    const issues = await loadIssues({ command: 'set', key: 'k', ttl_m: 5 });
    expect(issues).toMatch(/command "set" needs "value"/);
    expect(issues).toMatch(/request\.ttl_m: command "set" takes no "ttl_m".*did you mean "ttl_ms"/i);
  });

  it('refuses a bad URL and unknown config keys with the path', async () => {
    expect(await loadIssues({ command: 'get', key: 'k' }, { ...component, url: 'http://x' })).toMatch(/"http:" is not supported: use redis:\/\/ or rediss:\/\//);
    expect(await loadIssues({ command: 'get', key: 'k' }, { ...component, prefix: 'x' })).toMatch(/components\.kv/);
  });
});

describe('the test kit', () => {
  it('mocks a redis component by name and records the request it got', async () => {
    const kit = await loadFlows({
      flows: [{ name: 'f', components: { kv: component }, phases: [{ id: 'p', component: 'kv', request: { command: 'incr', key: '{% input.id %}' } }], output: '{% phases.p.value %}' }],
      mocks: [mockComponent('kv', { result: { value: 42 } })],
    });
    try {
      const result = await kit.run('f', { id: 'visits' });
      expect(result.success).toBe(true);
      expect(result.output).toBe(42);
      expect(result.calls('kv')).toMatchObject([{ mocked: true, request: { command: 'incr', key: 'visits' } }]);
    } finally {
      await kit.close();
    }
  });
});
