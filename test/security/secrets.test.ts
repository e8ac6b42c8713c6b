/**
 * Issue rule 5 — secrets never leak. A canary secret is configured (`${secret:NAME}`), really sent
 * upstream, echoed back by the upstream, thrown in an error message and failed on — then searched
 * for in every sink: response bodies (records and problems), stored executions, execution logs,
 * process logs at trace level, GET /flows/{name} (and diagram, doc), the API documents, metrics.
 * Input fields with sensitive names are redacted in stored records and logs.
 */
import type { ExecutionRecord } from '../../src/engine/record.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Middleware } from '../../src/engine/middleware.js';
import { startServer, type TestServer } from './egress/helpers.js';
import { json, makeKey, startService, type TestService } from './helpers.js';

const CANARY = 'cnry-5d2f8a41e9b7c3';
/** A secret with JSON-special characters: it appears escaped in JSON bodies and log lines. */
const ODD_CANARY = 'odd"q\\b-cnry-77f1e2';
const base64 = (text: string, alphabet: 'base64' | 'base64url' = 'base64') => Buffer.from(text).toString(alphabet);
/** The part of `svc:<canary>` in base64 that encodes only canary bytes (what a Basic header echo would show). */
const BASIC_CORE = base64(`svc:${CANARY}`).slice(6, -6);
const CANARY_FORMS = [
  CANARY,
  ODD_CANARY,
  JSON.stringify(ODD_CANARY).slice(1, -1),
  encodeURIComponent(CANARY),
  encodeURIComponent(ODD_CANARY),
  base64(CANARY),
  base64(ODD_CANARY, 'base64url'),
  BASIC_CORE,
];

const SENSITIVE_INPUT = {
  user: 'bob',
  note: 'visible-note-4417',
  password: 'pw-canary-91ab3',
  card_number: '4111111111111111',
  nested: { apiKey: 'ak-canary-55c0d', 'X-Auth-Token': 'tok-canary-0e7a' },
  list: [{ cvv: '737' }, { secret_answer: 'sa-canary-2b1f' }],
};
const SENSITIVE_VALUES = ['pw-canary-91ab3', '4111111111111111', 'ak-canary-55c0d', 'tok-canary-0e7a', 'sa-canary-2b1f'];

const admin = makeKey('admin', ['admin']);
let upstream: TestServer;
let t: TestService;
const bodies: { label: string; body: string }[] = [];
const ids: string[] = [];

/** A careless middleware that logs the whole input: the logger must still redact it. */
const carelessLogging: Middleware = {
  name: 'careless',
  async flow(ctx, next) {
    ctx.logger.info({ input: ctx.input }, 'careless: input seen');
    return next();
  },
};

/** The execution as kept (in this process's memory: persistence none), in its detailed view. */
async function kept(id: string): Promise<ExecutionRecord | undefined> {
  return t.service.reads.record(id, { tenant: 'test', allTenants: true });
}

beforeAll(async () => {
  upstream = await startServer((req, res, recorded) => {
    const token = String(req.headers['x-canary']);
    const odd = String(req.headers['x-odd']);
    const encoded = { basic: `Basic ${base64(`svc:${token}`)}`, b64: base64(token), b64url: base64(odd, 'base64url'), query: `q=${encodeURIComponent(odd)}&t=${encodeURIComponent(token)}` };
    const echo = JSON.stringify({ headers: req.headers, body: recorded.body === '' ? null : JSON.parse(recorded.body), said: `my token is ${token}`, encoded });
    res.writeHead(req.url === '/fail' ? 500 : 200, { 'content-type': 'application/json' });
    res.end(echo);
  });
  const flow = {
    name: 'canary',
    description: 'calls an upstream with a secret header',
    components: {
      api: {
        adapter: 'http',
        base_url: upstream.origin,
        headers: { authorization: 'Bearer ${secret:CANARY_TOKEN}', 'x-canary': '${secret:CANARY_TOKEN}', 'x-odd': '${secret:ODD_SECRET}' },
      },
      fake: { adapter: 'mock', responses: { default: { body: { note: 'mock token is ${secret:CANARY_TOKEN}' } } } },
    },
    phases: [
      { id: 'echo', component: 'api', request: { method: 'POST', path: '/echo', body: '{% input %}' }, output: '{% result.body %}' },
      { id: 'mocked', component: 'fake' },
      {
        id: 'branch',
        decision: [
          { when: '{% input.mode = "explode" %}', phases: [{ id: 'explode', component: 'transform', request: "{% $error('upstream said: ' & $string(phases.echo)) %}" }] },
          { when: '{% input.mode = "fail" %}', phases: [{ id: 'fail', component: 'api', request: { method: 'POST', path: '/fail', body: '{% input %}' } }] },
          { otherwise: [{ id: 'done', component: 'transform', request: '{% phases.echo %}' }] },
        ],
      },
    ],
  };
  const env = { CANARY_TOKEN: CANARY, ODD_SECRET: ODD_CANARY, EGRESS_ALLOW: '127.0.0.1', API_KEYS: admin.entry, LOG_LEVEL: 'trace', RATE_LIMIT_PER_MINUTE: '0' };
  t = await startService([flow], env, { middleware: [carelessLogging] });
  const app = t.service.app;
  const record = async (label: string, method: 'GET' | 'POST', url: string, payload?: unknown, headers: Record<string, string> = {}) => {
    const response = await app.inject({ method, url, headers: { ...admin.auth, ...headers }, ...(payload === undefined ? {} : { payload: payload as object }) });
    bodies.push({ label, body: response.body });
    bodies.push({ label: `${label} (headers)`, body: JSON.stringify(response.headers) });
    return response;
  };
  for (const mode of ['ok', 'explode', 'fail']) {
    const response = await record(`execute ${mode}`, 'POST', '/flows/canary/execute', { input: { ...SENSITIVE_INPUT, mode } });
    const parsed = json(response) as { executionId?: string; execution?: { executionId: string } };
    ids.push(parsed.executionId ?? parsed.execution?.executionId ?? 'missing');
  }
  for (const id of ids) {
    await record(`record ${id}`, 'GET', `/executions/${id}`);
    await record(`logs ${id}`, 'GET', `/executions/${id}/logs`);
    await record(`logs ndjson ${id}`, 'GET', `/executions/${id}/logs`, undefined, { accept: 'application/x-ndjson' });
    bodies.push({ label: `kept ${id}`, body: JSON.stringify(await kept(id)) });
  }
  await record('list', 'GET', '/executions?limit=50');
  for (const url of ['/flows', '/flows/canary', '/flows/canary/diagram', '/flows/canary/doc', '/openapi.json', '/docs/json', '/docs/yaml']) await record(url, 'GET', url);
  await record('404', 'GET', `/nope-${CANARY}`);
  const metrics = await t.service.metricsApp.inject({ method: 'GET', url: '/metrics' });
  bodies.push({ label: 'metrics', body: metrics.body });
});

afterAll(async () => {
  await t.close();
  await upstream.close();
});

describe('the canary really was used (otherwise the search below proves nothing)', () => {
  it('the upstream received the secret in the configured headers, and echoed it back', () => {
    const first = upstream.requests[0]!;
    expect(first.headers['authorization']).toBe(`Bearer ${CANARY}`);
    expect(first.headers['x-odd']).toBe(ODD_CANARY);
    expect(upstream.requests.some((request) => request.url === '/fail')).toBe(true);
  });

  it('the flow used the raw sensitive input (only what is stored and logged is redacted)', () => {
    expect(JSON.parse(upstream.requests[0]!.body)).toMatchObject({ password: SENSITIVE_INPUT.password, card_number: SENSITIVE_INPUT.card_number });
  });

  it('all three executions ran to the expected outcome', async () => {
    const statuses = await Promise.all(ids.map(async (id) => (await kept(id))?.status));
    expect(statuses).toEqual(['succeeded', 'failed', 'failed']);
  });
});

describe('the canary secret is in no sink', () => {
  it('not in any response body or header: records, problems, logs, lists, flows, documents, 404s', () => {
    expect(bodies.length).toBeGreaterThan(30);
    for (const { label, body } of bodies) {
      for (const form of CANARY_FORMS) expect(body.includes(form), `${label} contains ${form}`).toBe(false);
    }
  });

  it('masked where it was: the echoed header reads [REDACTED]', () => {
    const ok = bodies.find((b) => b.label === 'execute ok')!;
    // The flow's output is its last phase: the decision's branch, which returns the echo.
    const echoed = JSON.parse(ok.body).output.output as { headers: Record<string, string>; said: string };
    expect(echoed.headers['x-canary']).toBe('[REDACTED]');
    expect(echoed.said).toBe('my token is [REDACTED]');
  });

  it('its encoded echoes are masked too: base64 (inside a Basic credential too), base64url, percent-encoding', () => {
    const ok = bodies.find((b) => b.label === 'execute ok')!;
    const encoded = JSON.parse(ok.body).output.output.encoded as Record<string, string>;
    for (const value of Object.values(encoded)) expect(value).toContain('[REDACTED]');
    expect(encoded['b64']).toBe('[REDACTED]');
  });

  it('not in an error message built from upstream data ($error) — problem, record and logs', () => {
    const explode = bodies.find((b) => b.label === 'execute explode')!;
    expect(JSON.parse(explode.body).detail).toMatch(/upstream said: .*\[REDACTED\]/);
  });

  it('not in any process log line, at trace level', () => {
    const logs = t.logs();
    expect(logs.length).toBeGreaterThan(1000);
    for (const form of CANARY_FORMS) expect(logs.includes(form), `logs contain ${form}`).toBe(false);
  });

  it('not in metrics', () => {
    const metrics = bodies.find((b) => b.label === 'metrics')!.body;
    expect(metrics).toContain('flowd_executions_total');
    for (const form of CANARY_FORMS) expect(metrics.includes(form)).toBe(false);
  });
});

describe('input fields with sensitive names', () => {
  it('are redacted in the stored record, at any depth; other fields are kept', async () => {
    for (const id of ids) {
      const stored = (await kept(id))!;
      expect(stored.input).toMatchObject({
        user: 'bob',
        note: 'visible-note-4417',
        password: '[REDACTED]',
        card_number: '[REDACTED]',
        nested: { apiKey: '[REDACTED]', 'X-Auth-Token': '[REDACTED]' },
        list: [{ cvv: '[REDACTED]' }, { secret_answer: '[REDACTED]' }],
      });
    }
  });

  it('are redacted in GET /executions/{id}, its logs, the list and the execute answers', () => {
    const served = bodies.filter(({ label }) => !label.startsWith('metrics'));
    for (const { label, body } of served) {
      for (const value of SENSITIVE_VALUES) {
        // The live execute answer carries the flow's own output (the upstream echo), by design.
        if (label === 'execute ok' || label === 'execute ok (headers)') continue;
        expect(body.includes(value), `${label} contains ${value}`).toBe(false);
      }
    }
  });

  it('are redacted in the stored output as well (history never shows a returned password)', async () => {
    const stored = (await kept(ids[0]!))!;
    expect(JSON.stringify(stored.output)).not.toContain(SENSITIVE_INPUT.password);
  });

  it('are redacted in log lines, even when a middleware logs the whole input', () => {
    const logs = t.logs();
    expect(logs).toContain('visible-note-4417');
    expect(logs).toContain('careless: input seen');
    for (const value of SENSITIVE_VALUES) expect(logs.includes(value), `logs contain ${value}`).toBe(false);
  });
});

describe('secrets too short to mask', () => {
  it('a secret shorter than 4 characters is refused at load, naming the secret (never its value)', async () => {
    const flow = { name: 'short', components: { api: { adapter: 'http', base_url: 'https://api.example', headers: { 'x-key': '${secret:SHORT_KEY}' } } }, phases: [{ id: 'a', component: 'api' }] };
    const error = await startService([flow], { SHORT_KEY: 'k9!' }).then(
      async (s) => {
        await s.close();
        return undefined;
      },
      (e: unknown) => e as Error,
    );
    expect(error?.name).toBe('ConfigurationError');
    expect(error?.message).toMatch(/secret "SHORT_KEY" is shorter than 4 characters/);
    expect(error?.message).not.toContain('k9!');
  });
});
