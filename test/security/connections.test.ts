/**
 * Audit finding: idle and slow connections were bounded only by Node's timeouts, which Node checks
 * every connectionsCheckingInterval, so they fired up to a whole interval late; and nothing capped
 * the number of connections. Each deadline here is proven on a real socket with the server's
 * timers faked: nothing at the configured time minus 1 ms, a 408 problem+json at the configured time.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { echoFlow, startService, type TestService } from './helpers.js';
import { openConnection, rawHttp, type RawConnection } from './raw-http.js';

const HEADERS_TIMEOUT_MS = 5_000;
const REQUEST_TIMEOUT_MS = 3_000;

let t: TestService;
let port: number;

beforeAll(async () => {
  t = await startService([echoFlow('echo')], {
    HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
    REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
    MAX_CONNECTIONS: '3',
    RATE_LIMIT_PER_MINUTE: '0',
    LOG_LEVEL: 'warn',
  });
  await t.service.app.listen({ host: '127.0.0.1', port: 0 });
  port = (t.service.app.server.address() as AddressInfo).port;
});

afterEach(() => {
  vi.useRealTimers();
});

afterAll(async () => {
  await t.close();
});

/** Opens a connection with the server's timers faked from its first moment. */
async function connectWithFakeTime() {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  const accepted = once(t.service.app.server, 'connection');
  const connection = await openConnection(port);
  await accepted;
  return connection;
}

/** Lets the real sockets carry what the server wrote (fake time does not move). */
const settle = () => new Promise((resolve) => setImmediate(resolve));

function expectRequestTimeout(response: { status: number; headers: Record<string, string>; body: string }, detail: RegExp): void {
  expect(response.status).toBe(408);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(response.body) as Record<string, unknown>;
  expect(body).toMatchObject({ status: 408, code: 'FLOWD_ERR_REQUEST_TIMEOUT' });
  expect(String(body['detail'])).toMatch(detail);
}

/** Nothing at `ms - 1` (fake) milliseconds from now, then a 408 naming `detail` at `ms`. */
async function expectTimeoutAt(connection: RawConnection, ms: number, detail: RegExp): Promise<void> {
  vi.advanceTimersByTime(ms - 1);
  await settle();
  expect(connection.received()).toBe('');
  vi.advanceTimersByTime(1);
  expectRequestTimeout(await connection.closed, detail);
}

describe('per-connection deadlines fire at their configured value', () => {
  it(`an idle connection (no byte sent) gets 408 at HEADERS_TIMEOUT_MS (${HEADERS_TIMEOUT_MS} ms), not before`, async () => {
    await expectTimeoutAt(await connectWithFakeTime(), HEADERS_TIMEOUT_MS, /HEADERS_TIMEOUT_MS/);
  });

  it('dripping header bytes does not extend it (slow-loris)', async () => {
    const connection = await connectWithFakeTime();
    connection.write('POST /flows/echo/execute HTTP/1.1\r\n');
    const drip = 1000;
    for (let elapsed = 0; elapsed + drip < HEADERS_TIMEOUT_MS; elapsed += drip) {
      connection.write('X-Drip: 1\r\n');
      await settle();
      vi.advanceTimersByTime(drip);
    }
    connection.write('X-Drip: 1\r\n');
    await expectTimeoutAt(connection, drip, /HEADERS_TIMEOUT_MS/);
  });

  it(`a body dripping after complete headers gets 408 at REQUEST_TIMEOUT_MS (${REQUEST_TIMEOUT_MS} ms) after them`, async () => {
    const connection = await connectWithFakeTime();
    const request = once(t.service.app.server, 'request');
    connection.write('POST /flows/echo/execute HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{"input":');
    await request;
    vi.advanceTimersByTime(REQUEST_TIMEOUT_MS / 2);
    connection.write('{"a":');
    await expectTimeoutAt(connection, REQUEST_TIMEOUT_MS / 2, /REQUEST_TIMEOUT_MS/);
  });

  it('on a kept-alive connection each request gets its own body deadline, and a served request is never cut', async () => {
    const connection = await connectWithFakeTime();
    const first = once(t.service.app.server, 'request');
    connection.write('GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await first;
    for (let i = 0; i < 50 && !connection.received().includes('"ok"'); i++) await settle();
    expect(connection.received()).toMatch(/^HTTP\/1\.1 200/);
    vi.advanceTimersByTime(REQUEST_TIMEOUT_MS * 2); // the first request was whole: nothing fires
    await settle();
    expect(connection.received()).not.toContain('408');
    const second = once(t.service.app.server, 'request');
    connection.write('POST /flows/echo/execute HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{');
    await second;
    vi.advanceTimersByTime(REQUEST_TIMEOUT_MS - 1);
    await settle();
    expect(connection.received()).not.toContain('408');
    vi.advanceTimersByTime(1);
    const closed = await connection.closed;
    expect(closed.raw).toContain('HTTP/1.1 408');
    expect(closed.raw).toContain('FLOWD_ERR_REQUEST_TIMEOUT');
  });
});

describe('MAX_CONNECTIONS', () => {
  it('closes connections past the cap at once, and serves again when one ends', async () => {
    const open = await Promise.all([openConnection(port), openConnection(port), openConnection(port)]);
    const refused = await openConnection(port);
    const answer = await refused.closed;
    expect(answer.raw).toBe('');
    // Closed for the cap, not by a timeout: the three it was over are all still open.
    expect(open.map((connection) => connection.isClosed())).toEqual([false, false, false]);
    open[0].destroy();
    await open[0].closed;
    let served = 0;
    for (let i = 0; i < 50 && served === 0; i++) {
      if ((await rawHttp(port, 'GET', '/health/live')).status === 200) served++;
      else await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(served).toBe(1);
    for (const connection of open) connection.destroy();
  });
});
