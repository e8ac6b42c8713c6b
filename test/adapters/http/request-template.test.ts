/** What the http adapter refuses at load in a phase's request, where it is literal: with the path and a did-you-mean. */
import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../../src/errors.js';
import { buildEngine } from '../../../src/library.js';

async function loadIssues(request: unknown, compensate?: unknown): Promise<string[]> {
  const phase = { id: 'p', component: 'api', request, ...(compensate === undefined ? {} : { compensate: { request: compensate } }) };
  try {
    const built = await buildEngine({ flows: [{ name: 'f', components: { api: { adapter: 'http', base_url: 'http://127.0.0.1:9' } }, phases: [phase] }] });
    await built.engine.close();
    return [];
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    return error.issues.map((issue) => `${issue.path}: ${issue.message}`);
  }
}

describe('http requests are checked at load', () => {
  it('accepts literal and expression parts alike', async () => {
    expect(await loadIssues({ method: 'POST', path: '/orders', query: { a: 1 }, headers: { 'x-a': '{% input.a %}' }, body: '{% input %}' })).toEqual([]);
    expect(await loadIssues({ method: '{% input.method %}', path: '{% input.path %}' })).toEqual([]);
    expect(await loadIssues('{% {"method": "GET", "path": "/x"} %}')).toEqual([]);
  });

  it('names a mistyped method with the methods flowd sends and the closest one', async () => {
    expect(await loadIssues({ method: 'GETT', path: '/x' })).toEqual([
      'phases[0].request.method: method must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS (found "GETT") (did you mean "GET"?)',
    ]);
    expect((await loadIssues({ method: 'post', path: '/x' }))[0]).toMatch(/\(found "post"\) \(did you mean "POST"\? methods are upper-case\)$/);
  });

  it('names an unknown key with a did-you-mean, in a compensation too', async () => {
    const issues = await loadIssues({ pathh: '/x' }, { method: 'DELETE', bdy: 1 });
    expect(issues).toEqual([
      'phases[0].request.pathh: unknown request key "pathh" (did you mean "path"?); keys: method, path, query, headers, body',
      'phases[0].compensate.request.bdy: unknown request key "bdy" (did you mean "body"?); keys: method, path, query, headers, body',
    ]);
  });
});
