/**
 * Redirect chains against real local servers. Two upstreams, a.test and b.test, both
 * live on 127.0.0.1 (a scripted resolver maps every name there) and are opened by
 * HOSTNAME only, so a redirect to the literal 127.0.0.1 is a redirect to a loopback
 * address the operator did not open. The connector only ever dials 127.0.0.1.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { request, type Dispatcher } from 'undici';
import { EgressDeniedError, LimitExceededError } from '../../../src/errors.js';
import { createEgressDispatcher } from '../../../src/adapters/http/egress/dispatcher.js';
import { createEgressPolicy } from '../../../src/adapters/http/egress/ip-policy.js';
import { createRebindingTestResolver, type ScriptedLookup } from '../../../src/adapters/http/egress/lookup.js';
import { followRedirects, type RedirectHop } from '../../../src/adapters/http/egress/redirects.js';
import { startService } from '../helpers.js';
import { loopbackOnlyConnector, startServer, type RecordingConnector, type TestServer } from './helpers.js';

let a: TestServer;
let b: TestServer;
let redirectTo: string;
let lookup: ScriptedLookup;
let connector: RecordingConnector;
let dispatcher: Dispatcher;

beforeAll(async () => {
  a = await startServer((req, res) => {
    if (req.url === '/loop') return void res.writeHead(302, { location: '/loop' }).end();
    if (req.url === '/same-origin') return void res.writeHead(307, { location: '/final' }).end();
    if (req.url === '/final') return void res.end('a-final');
    res.writeHead(302, { location: redirectTo }).end();
  });
  b = await startServer((_req, res) => res.end('b'));
});
afterAll(async () => {
  await dispatcher.destroy();
  await Promise.all([a.close(), b.close()]);
});
beforeEach(async () => {
  await dispatcher?.destroy();
  a.requests.length = 0;
  b.requests.length = 0;
  lookup = createRebindingTestResolver([['127.0.0.1']]);
  connector = loopbackOnlyConnector();
  dispatcher = createEgressDispatcher({ policy: createEgressPolicy({ allow: ['a.test', 'b.test'] }), lookup, connector });
});

const aUrl = (path: string): URL => new URL(`http://a.test:${a.port}${path}`);
const send = (hop: RedirectHop) =>
  request(hop.url, { dispatcher, method: hop.method as 'GET', headers: hop.headers, body: hop.body ?? null });
const hop = (url: URL, headers: Record<string, string> = {}): RedirectHop => ({ url, method: 'GET', headers });

describe('redirects', () => {
  it('are not followed by default: the 3xx is the response', async () => {
    redirectTo = `http://b.test:${b.port}/`;
    const plain = await request(aUrl('/start'), { dispatcher });
    expect(plain.statusCode).toBe(302);
    await plain.body.dump();

    const { response, redirects } = await followRedirects(hop(aUrl('/start')), send, { maxRedirects: 0 });
    expect(response.statusCode).toBe(302);
    expect(response.headers['location']).toBe(redirectTo);
    await response.body.dump();
    expect(redirects).toBe(0);
    expect(b.requests).toHaveLength(0);
  });

  it('when enabled, each hop to a new origin is resolved and checked again', async () => {
    redirectTo = `http://b.test:${b.port}/landing`;
    const { response, url, redirects } = await followRedirects(hop(aUrl('/start')), send, {
      maxRedirects: 3,
      isOriginAllowed: (next) => next.hostname === 'b.test',
    });
    expect(await response.body.text()).toBe('b');
    expect(url.href).toBe(redirectTo);
    expect(redirects).toBe(1);
    expect(lookup.calls).toEqual(['a.test', 'b.test']);
    expect(connector.dialled).toEqual(['127.0.0.1', '127.0.0.1']);
  });

  it('a hop to an origin the component does not allow is refused', async () => {
    redirectTo = `http://b.test:${b.port}/`;
    await expect(followRedirects(hop(aUrl('/start')), send, { maxRedirects: 3 })).rejects.toThrow(/origin not allowed/);
    expect(b.requests).toHaveLength(0);
  });

  it.each([
    ['the metadata address', 'http://169.254.169.254/latest/meta-data/iam/security-credentials/'],
    ['the metadata address, hex spelling', 'http://0xA9FEA9FE/'],
    ['a loopback IP that is not allowed', 'http://127.0.0.1:PORT/'],
    ['IPv4-mapped loopback', 'http://[::ffff:127.0.0.1]:PORT/'],
  ])('a hop to %s is refused by the connector even when the origin callback allows everything', async (_l, target) => {
    redirectTo = target.replace('PORT', String(b.port));
    const error = await followRedirects(hop(aUrl('/start')), send, { maxRedirects: 3, isOriginAllowed: () => true }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(EgressDeniedError);
    expect((error as Error).message).toMatch(/refused: (link-local|loopback) address/);
    // Only the first hop (a.test → 127.0.0.1) was ever dialled.
    expect(connector.dialled).toEqual(['127.0.0.1']);
    expect(b.requests).toHaveLength(0);
  });

  it('drops authorization, cookie and proxy-authorization when the origin changes', async () => {
    redirectTo = `http://b.test:${b.port}/`;
    const headers = { authorization: 'Bearer secret', cookie: 'session=1', 'x-request-id': 'r1' };
    await followRedirects(hop(aUrl('/start'), headers), send, { maxRedirects: 1, isOriginAllowed: () => true }).then((r) =>
      r.response.body.dump(),
    );
    expect(a.requests[0]?.headers['authorization']).toBe('Bearer secret');
    const seenByB = b.requests[0]?.headers;
    expect(seenByB?.['authorization']).toBeUndefined();
    expect(seenByB?.['cookie']).toBeUndefined();
    expect(seenByB?.['x-request-id']).toBe('r1');
  });

  it('keeps authorization on a same-origin redirect', async () => {
    const { response } = await followRedirects(hop(aUrl('/same-origin'), { authorization: 'Bearer secret' }), send, {
      maxRedirects: 1,
    });
    expect(await response.body.text()).toBe('a-final');
    expect(a.requests.map((r) => [r.url, r.headers['authorization']])).toEqual([
      ['/same-origin', 'Bearer secret'],
      ['/final', 'Bearer secret'],
    ]);
  });

  it('enforces the hop limit', async () => {
    await expect(followRedirects(hop(aUrl('/loop')), send, { maxRedirects: 3 })).rejects.toBeInstanceOf(LimitExceededError);
    expect(a.requests).toHaveLength(4);
  });
});

describe('a component following a redirect to another origin', () => {
  it('drops every header set in its configuration (x-api-key, not only authorization), and keeps them on its own origin', async () => {
    const other = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"at":"other"}');
    });
    const home = await startServer((req, res) => {
      if (req.url === '/away') res.writeHead(302, { location: `${other.origin}/landing` });
      else if (req.url === '/near') res.writeHead(302, { location: '/landing' });
      else res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"at":"home"}');
    });
    const component = { adapter: 'http', base_url: home.origin, follow_redirects: 1, redirect_origins: [other.origin], headers: { 'x-api-key': '${secret:UPSTREAM_KEY}', 'x-tenant': 'acme' } };
    const t = await startService(
      [
        { name: 'away', components: { api: component }, phases: [{ id: 'get', component: 'api', request: { method: 'GET', path: '/away', headers: { 'x-trace-note': 'n1' } }, output: '{% result.body %}' }] },
        { name: 'near', components: { api: component }, phases: [{ id: 'get', component: 'api', request: { method: 'GET', path: '/near' }, output: '{% result.body %}' }] },
      ],
      { UPSTREAM_KEY: 'key-canary-61d0a9', EGRESS_ALLOW: '127.0.0.1', RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'warn' },
    );
    try {
      const away = await t.service.app.inject({ method: 'POST', url: '/flows/away/execute', payload: { input: {} } });
      expect(JSON.parse(away.body).output).toEqual({ at: 'other' });
      expect(home.requests[0]?.headers['x-api-key']).toBe('key-canary-61d0a9');
      const seenByOther = other.requests[0]!.headers;
      expect(seenByOther['x-api-key']).toBeUndefined();
      expect(seenByOther['x-tenant']).toBeUndefined();
      expect(seenByOther['x-trace-note']).toBe('n1');
      const near = await t.service.app.inject({ method: 'POST', url: '/flows/near/execute', payload: { input: {} } });
      expect(JSON.parse(near.body).output).toEqual({ at: 'home' });
      expect(home.requests.at(-1)?.headers['x-api-key']).toBe('key-canary-61d0a9');
    } finally {
      await t.close();
      await home.close();
      await other.close();
    }
  });
});
