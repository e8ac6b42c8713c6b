/**
 * Audit findings on what error messages carry: an upstream error body cut to size must be masked
 * before it is cut (a secret split at the cut was masked nowhere: its first part reached stdout),
 * and a JSONata error must not quote the input value it failed on (`$number(input.password)`
 * printed the password in the problem, the record and the log).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from './egress/helpers.js';
import { expectProblem, startService, type TestService } from './helpers.js';

/** 40 characters; the upstream error body puts it across the 2 048-character cut. */
const SECRET = 'tok-split-canary-0123456789abcdefghijklm';
const PASSWORD = 'pw-jsonata-canary-4471';

let upstream: TestServer;
let t: TestService;
const seen: { label: string; text: string }[] = [];

beforeAll(async () => {
  upstream = await startServer((req, res) => {
    res.writeHead(500, { 'content-type': 'text/plain' });
    res.end(`${'x'.repeat(2028)}${String(req.headers['x-token'])} and more after it`);
  });
  t = await startService(
    [
      {
        name: 'padded-error',
        components: { api: { adapter: 'http', base_url: upstream.origin, headers: { 'x-token': '${secret:SPLIT_TOKEN}' } } },
        phases: [{ id: 'call', component: 'api', request: { method: 'GET', path: '/x' }, retry_policy: { max_attempts: 1 } }],
      },
      { name: 'cast-password', phases: [{ id: 'cast', component: 'transform', request: '{% $number(input.password) %}' }] },
      { name: 'negate-note', phases: [{ id: 'negate', component: 'transform', request: '{% -input.note %}' }] },
    ],
    { SPLIT_TOKEN: SECRET, EGRESS_ALLOW: '127.0.0.1', LOG_LEVEL: 'trace', RATE_LIMIT_PER_MINUTE: '0', PERSISTENCE: 'all' },
  );
  for (const [flow, input] of [
    ['padded-error', {}],
    ['cast-password', { password: PASSWORD }],
  ] as const) {
    const response = await t.service.app.inject({ method: 'POST', url: `/flows/${flow}/execute`, payload: { input } });
    seen.push({ label: `${flow} answer`, text: response.body });
    const id = (JSON.parse(response.body) as { execution?: { executionId: string } }).execution?.executionId ?? '';
    seen.push({ label: `${flow} record`, text: (await t.service.app.inject({ method: 'GET', url: `/executions/${id}` })).body });
    seen.push({ label: `${flow} stored`, text: JSON.stringify(await t.service.store.get(id)) });
  }
  seen.push({ label: 'logs', text: t.logs() });
});

afterAll(async () => {
  await t.close();
  await upstream.close();
});

describe('upstream error bodies are masked before they are cut to size', () => {
  it('the upstream really echoed the secret across the cut, and the cut body reached the record masked (otherwise the search proves nothing)', () => {
    expect(upstream.requests[0]?.headers['x-token']).toBe(SECRET);
    const withBody = seen.filter(({ text }) => /x{2028}\[REDACTED\] and more/.test(text)).map(({ label }) => label);
    expect(withBody).toContain('padded-error record');
  });

  it('neither the secret nor its first 20 characters are in the answer, the record, the store or the logs', () => {
    for (const { label, text } of seen) {
      expect(text.includes(SECRET.slice(0, 20)), `${label} holds the start of the secret`).toBe(false);
    }
  });
});

describe('JSONata error messages name the type of the value, never the value', () => {
  it('$number(input.password) fails with 422 saying "(a string)"', async () => {
    const response = await t.service.app.inject({ method: 'POST', url: '/flows/cast-password/execute', payload: { input: { password: PASSWORD } } });
    const body = expectProblem(response, 422, 'FLOWD_ERR_EXPRESSION_FAILED');
    expect(String(body['detail'])).toContain('Unable to cast value to a number: (a string)');
  });

  it('the password is in no answer, record, stored record or log line', () => {
    expect(seen.length).toBe(7);
    for (const { label, text } of seen) expect(text.includes(PASSWORD), `${label} holds the password`).toBe(false);
  });

  it('a field without a sensitive name is not quoted in the error either (-input.note), only kept in the record input', async () => {
    const response = await t.service.app.inject({ method: 'POST', url: '/flows/negate-note/execute', payload: { input: { note: PASSWORD } } });
    const body = expectProblem(response, 422, 'FLOWD_ERR_EXPRESSION_FAILED');
    expect(String(body['detail'])).toContain('Cannot negate a non-numeric value: (a string)');
    const execution = body['execution'] as { input: unknown; error: unknown; phases: unknown };
    expect(JSON.stringify([execution.error, execution.phases])).not.toContain(PASSWORD);
  });
});
