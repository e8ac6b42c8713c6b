import { afterEach, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../src/errors.js';
import { buildEngine } from '../../src/library.js';
import { makeFlowDir } from '../helpers/flow-dir.js';

let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

/** Loads the files and returns the ConfigurationError the load must throw. */
async function loadError(files: Record<string, string>): Promise<ConfigurationError> {
  const made = makeFlowDir(files);
  cleanup = made.cleanup;
  const error = await buildEngine({ flowsDir: made.dir }).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(ConfigurationError);
  return error as ConfigurationError;
}

function issueAt(error: ConfigurationError, file: string, path: string) {
  const issue = error.issues.find((candidate) => candidate.file?.endsWith(file) === true && candidate.path === path);
  expect(issue, `expected an issue at ${file} ${path}; got ${JSON.stringify(error.issues)}`).toBeDefined();
  return issue!;
}

const ok = (name: string, extra = '') => `name: ${name}\nphases:\n  - id: a\n    component: transform\n    request: 1\n${extra}`;

describe('load-time validation', () => {
  it('rejects an unknown key with the file and the path inside it', async () => {
    const error = await loadError({ 'a.yaml': 'name: a\nphases:\n  - id: x\n    component: transform\n    reqest: 3\n' });
    expect(issueAt(error, 'a.yaml', 'phases[0].reqest').message).toMatch(/^unknown key "reqest" \(did you mean "request"\?\); allowed here: cache, callback, compensate, component, /);
    expect(error.message).toContain('a.yaml: phases[0].reqest');
  });

  it('rejects a flow name that is not URL-safe', async () => {
    const error = await loadError({ 'a.yaml': ok('Bad Name') });
    expect(issueAt(error, 'a.yaml', 'name').message).toMatch(/\^\[a-z0-9\]/);
  });

  it('rejects duplicate phase ids, nested ones included', async () => {
    const error = await loadError({
      'dup.yaml': 'name: dup\nphases:\n  - id: a\n    component: transform\n  - id: p\n    parallel:\n      x:\n        - id: a\n          component: transform\n',
    });
    expect(issueAt(error, 'dup.yaml', 'phases[1].parallel.x[0].id').message).toMatch(/duplicate phase id "a"/);
  });

  it('rejects an unknown component', async () => {
    const error = await loadError({ 'c.yaml': 'name: c\nphases:\n  - id: a\n    component: payments\n' });
    expect(issueAt(error, 'c.yaml', 'phases[0].component').message).toMatch(/unknown component "payments"/);
  });

  it('rejects an unknown adapter', async () => {
    const error = await loadError({ 'c.yaml': 'name: c\ncomponents:\n  pay: { adapter: soap }\nphases:\n  - id: a\n    component: pay\n' });
    expect(issueAt(error, 'c.yaml', 'components.pay.adapter').message).toMatch(/unknown adapter "soap"/);
  });

  it("rejects a component config its adapter's schema refuses", async () => {
    const error = await loadError({ 'c.yaml': 'name: c\ncomponents:\n  pay: { adapter: http, base_url: not-a-url }\nphases:\n  - id: a\n    component: pay\n' });
    expect(issueAt(error, 'c.yaml', 'components.pay.base_url').message).toBeTruthy();
  });

  it('rejects an unknown sub-flow, recovery flow and dependency', async () => {
    const error = await loadError({
      'a.yaml': 'name: a\nrecovery_flow: ghost\ndepends_on: [{ flow: ghost2 }]\nphases:\n  - id: s\n    flow: ghost3\n',
    });
    expect(issueAt(error, 'a.yaml', 'phases[0].flow').message).toMatch(/unknown flow "ghost3"/);
    expect(issueAt(error, 'a.yaml', 'recovery_flow').message).toMatch(/unknown flow "ghost"/);
    expect(issueAt(error, 'a.yaml', 'depends_on[0].flow').message).toMatch(/unknown flow "ghost2"/);
  });

  it('rejects a reference to a phase that cannot have run yet', async () => {
    const error = await loadError({
      'r.yaml': 'name: r\nphases:\n  - id: a\n    component: transform\n    request: "{% phases.b %}"\n  - id: b\n    component: transform\n    request: 1\n',
    });
    expect(issueAt(error, 'r.yaml', 'phases[0].request').message).toMatch(/phases\.b/);
  });

  it('rejects a reference across parallel branches', async () => {
    const error = await loadError({
      'p.yaml':
        'name: p\nphases:\n  - id: par\n    parallel:\n      x:\n        - { id: a, component: transform, request: 1 }\n      y:\n        - { id: b, component: transform, request: "{% phases.a %}" }\n',
    });
    expect(issueAt(error, 'p.yaml', 'phases[0].parallel.y[0].request').message).toMatch(/phases\.a/);
  });

  it('rejects a sub-flow cycle', async () => {
    const error = await loadError({
      'a.yaml': 'name: a\nphases:\n  - id: s\n    flow: b\n',
      'b.yaml': 'name: b\nphases:\n  - id: s\n    flow: a\n',
    });
    const cycle = error.issues.find((issue) => /flow cycle/.test(issue.message));
    expect(cycle?.message).toMatch(/a → b → a|b → a → b/);
    expect(cycle?.path).toBe('phases[0].flow');
  });

  it('rejects a decision loop without a bound', async () => {
    const error = await loadError({
      'l.yaml':
        'name: l\nphases:\n  - id: step\n    component: transform\n    request: 1\n  - id: again\n    decision:\n      - when: "{% true %}"\n        goto: step\n',
    });
    expect(issueAt(error, 'l.yaml', 'phases[1].decision[0].goto').message).toMatch(/without a bound: set max_iterations/);
  });

  it('rejects an invalid input JSON Schema', async () => {
    const error = await loadError({ 's.yaml': ok('s', 'input:\n  type: objekt\n') });
    expect(issueAt(error, 's.yaml', 'input.type').message).toBe(
      'invalid JSON Schema: must be one of: "array", "boolean", "integer", "null", "number", "object", "string" (found the string "objekt") (did you mean "object"?)',
    );
  });

  it('rejects an example that does not match the input schema', async () => {
    const error = await loadError({
      'e.yaml': ok('e', 'input:\n  type: object\n  required: [id]\nexamples:\n  broken: { other: 1 }\n'),
    });
    expect(issueAt(error, 'e.yaml', 'examples.broken.id').message).toMatch(/example does not match/);
  });

  it('reports a JSONata syntax error with its position', async () => {
    const error = await loadError({ 'j.yaml': 'name: j\nphases:\n  - id: a\n    component: transform\n    request: "{% input.( %}"\n' });
    const issue = issueAt(error, 'j.yaml', 'phases[0].request');
    expect(issue.message).toMatch(/position|column|char/i);
  });

  it('reports invalid YAML with the file name', async () => {
    const error = await loadError({ 'y.yaml': 'name: y\nphases: [\n' });
    expect(error.issues[0]?.file).toMatch(/y\.yaml$/);
    expect(error.issues[0]?.message).toMatch(/invalid YAML/);
  });

  it('reports every problem of every file at once', async () => {
    const error = await loadError({
      'one.yaml': 'name: one\nphases:\n  - id: a\n    component: nope\n',
      'two.yaml': 'name: two\nphases:\n  - id: a\n    component: transform\n    request: "{% ) %}"\n',
      'three.json': '{"name": "three", "phases": []}',
    });
    const files = new Set(error.issues.map((issue) => issue.file?.split('/').pop()));
    expect(files).toEqual(new Set(['one.yaml', 'two.yaml', 'three.json']));
  });

  it('rejects a secret reference whose variable is not set, without leaking anything', async () => {
    const error = await loadError({
      'k.yaml': 'name: k\ncomponents:\n  api: { adapter: http, base_url: "http://127.0.0.1:1", headers: { authorization: "Bearer ${secret:FLOWD_TEST_MISSING_SECRET}" } }\nphases:\n  - id: a\n    component: api\n',
    });
    expect(issueAt(error, 'k.yaml', 'components.api').message).toMatch(/FLOWD_TEST_MISSING_SECRET/);
  });
});
