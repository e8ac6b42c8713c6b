/** followRedirects with a scripted `send`: method rewriting, header dropping, Location rules. */
import { describe, expect, it } from 'vitest';
import { EgressDeniedError, LimitExceededError } from '../../../src/errors.js';
import {
  followRedirects,
  resolveRedirectTarget,
  type RedirectHop,
  type RedirectResponse,
} from '../../../src/adapters/http/egress/redirects.js';

interface FakeResponse extends RedirectResponse {
  dumped: boolean;
}

function respond(statusCode: number, location?: string): FakeResponse {
  const response: FakeResponse = {
    statusCode,
    headers: location === undefined ? {} : { location },
    dumped: false,
    body: {
      dump: () => {
        response.dumped = true;
        return Promise.resolve();
      },
    },
  };
  return response;
}

/** Answers each hop with the next scripted response and records what was sent. */
function script(...responses: FakeResponse[]) {
  const sent: Array<Omit<RedirectHop, 'url'> & { url: string }> = [];
  const send = (hop: RedirectHop): Promise<FakeResponse> => {
    // A snapshot, with the URL as text, so later mutation cannot rewrite history.
    sent.push(structuredClone({ ...hop, url: hop.url.href }));
    const next = responses[sent.length - 1];
    return next === undefined ? Promise.reject(new Error('unexpected extra request')) : Promise.resolve(next);
  };
  return { sent, send };
}

const start = (init: Partial<RedirectHop> = {}): RedirectHop => ({
  url: new URL('https://api.example.com/a'),
  method: 'GET',
  headers: {},
  ...init,
});

describe('followRedirects', () => {
  it('returns the 3xx untouched when following is off', async () => {
    const { send, sent } = script(respond(302, 'https://api.example.com/b'));
    const result = await followRedirects(start(), send, { maxRedirects: 0 });
    expect(result.response.statusCode).toBe(302);
    expect(result.response.dumped).toBe(false);
    expect(sent).toHaveLength(1);
  });

  it('returns 304 and a 3xx without Location as responses', async () => {
    const { send } = script(respond(304, '/x'));
    expect((await followRedirects(start(), send, { maxRedirects: 5 })).response.statusCode).toBe(304);
    const second = script(respond(302));
    expect((await followRedirects(start(), second.send, { maxRedirects: 5 })).response.statusCode).toBe(302);
  });

  it('follows relative locations on the same origin and discards the redirect body', async () => {
    const first = respond(301, '/b?x=1#frag');
    const { send, sent } = script(first, respond(200));
    const result = await followRedirects(start(), send, { maxRedirects: 1 });
    expect(result.url.href).toBe('https://api.example.com/b?x=1');
    expect(result.redirects).toBe(1);
    expect(first.dumped).toBe(true);
    expect(sent.map((h) => h.url)).toEqual(['https://api.example.com/a', 'https://api.example.com/b?x=1']);
  });

  it('303 turns POST into GET without body or body headers', async () => {
    const { send, sent } = script(respond(303, '/status'), respond(200));
    await followRedirects(
      start({ method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json', authorization: 'Bearer t' } }),
      send,
      { maxRedirects: 1 },
    );
    expect(sent[1]).toMatchObject({ method: 'GET', body: undefined, headers: { authorization: 'Bearer t' } });
    expect(sent[1]?.headers).not.toHaveProperty('content-type');
  });

  it('307 keeps method and body', async () => {
    const { send, sent } = script(respond(307, '/b'), respond(200));
    await followRedirects(start({ method: 'PUT', body: 'payload', headers: { 'content-type': 'text/plain' } }), send, {
      maxRedirects: 1,
    });
    expect(sent[1]).toMatchObject({ method: 'PUT', body: 'payload', headers: { 'content-type': 'text/plain' } });
  });

  it('drops credentials across origins and does not restore them on the way back', async () => {
    const { send, sent } = script(respond(302, 'https://cdn.example.com/x'), respond(302, 'https://api.example.com/c'), respond(200));
    await followRedirects(
      start({ headers: { authorization: 'Bearer t', cookie: 'a=1', 'proxy-authorization': 'Basic x', accept: 'application/json' } }),
      send,
      { maxRedirects: 2, isOriginAllowed: (url) => url.hostname === 'cdn.example.com' },
    );
    expect(sent[0]?.headers).toHaveProperty('authorization');
    expect(sent[1]?.headers).toEqual({ accept: 'application/json' });
    expect(sent[2]?.headers).toEqual({ accept: 'application/json' });
  });

  it('treats a scheme change as an origin change', async () => {
    const { send } = script(respond(302, 'http://api.example.com/a'));
    await expect(followRedirects(start(), send, { maxRedirects: 1 })).rejects.toThrow(/origin not allowed/);
  });

  it('stops at the hop limit', async () => {
    const { send, sent } = script(respond(302, '/1'), respond(302, '/2'), respond(302, '/3'));
    await expect(followRedirects(start(), send, { maxRedirects: 2 })).rejects.toBeInstanceOf(LimitExceededError);
    expect(sent).toHaveLength(3);
  });

  it('validates maxRedirects', async () => {
    const { send } = script(respond(200));
    await expect(followRedirects(start(), send, { maxRedirects: -1 })).rejects.toThrow(TypeError);
  });
});

describe('resolveRedirectTarget', () => {
  const current = new URL('https://api.example.com/a/b');

  it.each([
    ['javascript:alert(1)', /javascript URL refused/],
    ['file:///etc/passwd', /file URL refused/],
    ['https://user:pw@api.example.com/', /credentials/],
    ['https://api.example.com/\r\nx', /control character/],
    ['https://api.example.com/\tx', /control character/],
    ['http://[::1', /not a valid URL/],
  ])('refuses %j', (location, message) => {
    expect(() => resolveRedirectTarget(location, current)).toThrow(EgressDeniedError);
    expect(() => resolveRedirectTarget(location, current)).toThrow(message);
  });

  it('resolves relative and protocol-relative locations against the current URL', () => {
    expect(resolveRedirectTarget('../c', current).href).toBe('https://api.example.com/c');
    expect(resolveRedirectTarget('//other.example/x', current).href).toBe('https://other.example/x');
    expect(resolveRedirectTarget('http://2130706433/', current).hostname).toBe('127.0.0.1');
  });
});
