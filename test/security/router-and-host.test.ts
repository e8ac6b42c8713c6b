/**
 * Audit findings at the HTTP edge: errors the router raises before any route (a path parameter
 * over its length, malformed percent-encoding) skipped authentication, the rate limit and
 * problem+json, and told anonymous callers which routes exist; keyless loopback mode answered any
 * Host, so a web page could reach it by DNS rebinding.
 */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeysEnv, echoFlow, makeKey, startService, type TestService } from './helpers.js';
import { rawHttp, rawRequest, type RawResponse } from './raw-http.js';

const reader = makeKey('reader', ['flows:read']);
const LONG = 'a'.repeat(300);
const MALFORMED = '%E0%A4%A';

async function listen(t: TestService): Promise<number> {
  await t.service.app.listen({ host: '127.0.0.1', port: 0 });
  return (t.service.app.server.address() as AddressInfo).port;
}

/** What an anonymous caller can compare between two answers: status, body without its request id, header names and values that are not per-request. */
function observable(response: RawResponse): unknown {
  const body = JSON.parse(response.body) as Record<string, unknown>;
  delete body['instance'];
  const headers = Object.fromEntries(Object.entries(response.headers).filter(([name]) => !['date', 'x-request-id', 'content-length'].includes(name)));
  return { status: response.status, body, headers };
}

describe('router errors pass the same guards as every request', () => {
  let t: TestService;
  let port: number;
  beforeAll(async () => {
    t = await startService([echoFlow('echo')], { API_KEYS: apiKeysEnv(reader), RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'warn' });
    port = await listen(t);
  });
  afterAll(async () => t.close());

  it('anonymous: a too-long or malformed segment on an existing route answers exactly as on a missing one (401)', async () => {
    const pairs = [
      [`/flows/${LONG}`, `/nope/${LONG}`],
      [`/flows/${LONG}/execute`, `/nope/${LONG}/execute`],
      [`/flows/${MALFORMED}`, `/nope/${MALFORMED}`],
      ['/flows/echo', '/nope/echo'],
      ['/executions/x/logs', '/nope/x/logs'],
    ];
    for (const [existing, missing] of pairs) {
      const [a, b] = [await rawHttp(port, 'GET', existing!), await rawHttp(port, 'GET', missing!)];
      expect(a.status, existing).toBe(401);
      expect(observable(a), `${existing} vs ${missing}`).toEqual(observable(b));
    }
  });

  it('with a key: 414 FLOWD_ERR_URI_TOO_LONG and 400 FLOWD_ERR_REQUEST_INVALID as problem+json, the path not echoed', async () => {
    const long = await rawHttp(port, 'GET', `/flows/${LONG}`, reader.auth);
    expect(long.status).toBe(414);
    expect(long.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(long.body)).toMatchObject({ status: 414, code: 'FLOWD_ERR_URI_TOO_LONG' });
    expect(long.body).not.toContain(LONG);
    expect(long.headers['x-request-id']).toBeDefined();
    const malformed = await rawHttp(port, 'GET', `/flows/${MALFORMED}`, reader.auth);
    expect(malformed.status).toBe(400);
    expect(JSON.parse(malformed.body)).toMatchObject({ status: 400, code: 'FLOWD_ERR_REQUEST_INVALID' });
  });

  it('they count against the rate limit: the request past it is 429, key or no key', async () => {
    const limited = await startService([echoFlow('echo')], { API_KEYS: apiKeysEnv(reader), RATE_LIMIT_PER_MINUTE: '2', LOG_LEVEL: 'warn' });
    try {
      const limitedPort = await listen(limited);
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await rawHttp(limitedPort, 'GET', `/flows/${MALFORMED}`)).status);
      expect(statuses).toEqual([401, 401, 429]);
      const keyed = [];
      for (let i = 0; i < 3; i++) keyed.push((await rawHttp(limitedPort, 'GET', `/flows/${LONG}`, reader.auth)).status);
      expect(keyed).toEqual([414, 414, 429]);
    } finally {
      await limited.close();
    }
  });
});

describe('keyless loopback mode answers only requests addressed to loopback (DNS rebinding)', () => {
  let t: TestService;
  let port: number;
  const request = (host: string, path = '/flows', method = 'GET') =>
    rawRequest(port, [`${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{"input":{}}`]);

  beforeAll(async () => {
    t = await startService([echoFlow('echo')], { RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'warn' });
    port = await listen(t);
  });
  afterAll(async () => t.close());

  it.each(['evil.example', 'evil.example:3000', 'localhost.evil.example', '127.0.0.1.nip.io', '0.0.0.0', '10.0.0.5'])('Host: %s → 421 FLOWD_ERR_HOST_NOT_ALLOWED, and nothing runs', async (host) => {
    const before = (await t.service.store.list({ limit: 1000 })).items.length;
    const response = await request(host, '/flows/echo/execute', 'POST');
    expect(response.status).toBe(421);
    expect(JSON.parse(response.body)).toMatchObject({ code: 'FLOWD_ERR_HOST_NOT_ALLOWED' });
    expect((await request(host)).status).toBe(421);
    expect((await t.service.store.list({ limit: 1000 })).items.length).toBe(before);
  });

  it.each(['localhost', 'localhost:3000', '127.0.0.1', '127.1.2.3:8080', '[::1]', '[::1]:3000', '2130706433', 'api.localhost'])('Host: %s is served', async (host) => {
    expect((await request(host)).status).toBe(200);
  });

  it('with API keys the Host is not checked: the key is what protects', async () => {
    const keyed = await startService([echoFlow('echo')], { API_KEYS: apiKeysEnv(reader), RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'warn' });
    try {
      const keyedPort = await listen(keyed);
      const response = await rawRequest(keyedPort, [`GET /flows HTTP/1.1\r\nHost: flowd.internal.example\r\nAuthorization: ${reader.auth.authorization}\r\nConnection: close\r\n\r\n`]);
      expect(response.status).toBe(200);
    } finally {
      await keyed.close();
    }
  });
});
