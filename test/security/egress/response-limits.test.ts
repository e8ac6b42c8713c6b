/**
 * SECURITY.md rule 8 against real local upstreams: a body cap counted on received
 * bytes, an overall deadline that a slow-drip body cannot dodge (bodyTimeout is only an
 * idle timer), no decompression, and upstream JSON that cannot pollute Object.prototype.
 */
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { request, type Dispatcher } from 'undici';
import { ComponentError, LimitExceededError, TimeoutError } from '../../../src/errors.js';
import { createEgressDispatcher } from '../../../src/adapters/http/egress/dispatcher.js';
import { createEgressPolicy } from '../../../src/adapters/http/egress/ip-policy.js';
import { readJsonBody } from '../../../src/adapters/http/egress/response.js';
import { startServer, type TestServer } from './helpers.js';

const servers: TestServer[] = [];
const dispatchers: Dispatcher[] = [];

function dispatcher(options: { bodyTimeoutMs?: number; maxResponseBytes?: number } = {}): Dispatcher {
  const d = createEgressDispatcher({ policy: createEgressPolicy({ allow: ['127.0.0.1'] }), ...options });
  dispatchers.push(d);
  return d;
}

async function serve(handler: Parameters<typeof startServer>[0]): Promise<TestServer> {
  const server = await startServer(handler);
  servers.push(server);
  return server;
}

afterEach(async () => {
  await Promise.all(dispatchers.splice(0).map((d) => d.destroy()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
afterAll(() => {
  expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
});

describe('response byte cap', () => {
  it('a large streamed body (no content-length) is cut off at the cap and the socket closed', async () => {
    const total = 8 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 'a');
    let written = 0;
    let resolveClosed: (written: number) => void = () => undefined;
    const closed = new Promise<number>((resolve) => (resolveClosed = resolve));
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.on('close', () => resolveClosed(written));
      const pump = (): void => {
        while (written < total && !res.destroyed) {
          written += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        if (written >= total) res.end();
      };
      pump();
    });

    const response = await request(`${server.origin}/big`, { dispatcher: dispatcher() });
    const read = readJsonBody(response.body, { maxBytes: 256 * 1024, contentType: response.headers['content-type'] });
    await expect(read).rejects.toBeInstanceOf(LimitExceededError);
    await expect(read).rejects.toMatchObject({ details: { maxBytes: 256 * 1024 } });
    // The upstream saw the connection go away long before it finished the body.
    expect(await closed).toBeLessThan(total);
  });

  it('the dispatcher backstop (maxResponseBytes) also ends as LimitExceededError', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write(Buffer.alloc(4096, 'a'));
      setTimeout(() => res.end(Buffer.alloc(4096, 'b')), 10);
    });
    const response = await request(server.origin, { dispatcher: dispatcher({ maxResponseBytes: 1024 }) });
    await expect(readJsonBody(response.body, { maxBytes: 1_000_000 })).rejects.toBeInstanceOf(LimitExceededError);
  });
});

describe('slow-drip body', () => {
  /** Sends `chunks` single bytes, one every `everyMs`; bounded so nothing outlives the test. */
  function drip(chunks: number, everyMs: number) {
    return serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      let sent = 0;
      const timer = setInterval(() => {
        if (res.destroyed) return clearInterval(timer);
        res.write('x');
        sent += 1;
        if (sent >= chunks) {
          clearInterval(timer);
          res.end();
        }
      }, everyMs);
      res.on('close', () => clearInterval(timer));
    });
  }

  it('bodyTimeout alone does not bound it: an idle timer of 100 ms lets a 600 ms drip through', async () => {
    const server = await drip(30, 20);
    const started = Date.now();
    const response = await request(server.origin, { dispatcher: dispatcher({ bodyTimeoutMs: 100 }) });
    const text = await readJsonBody(response.body, { maxBytes: 1_000_000, contentType: 'text/plain' });
    expect(text).toBe('x'.repeat(30));
    expect(Date.now() - started).toBeGreaterThan(300);
  });

  it("the caller's AbortSignal stops it at the deadline with a TimeoutError", async () => {
    const server = await drip(500, 20); // would take 10 s
    const signal = AbortSignal.timeout(250);
    const started = Date.now();
    const response = await request(server.origin, { dispatcher: dispatcher({ bodyTimeoutMs: 100 }), signal });
    const error = await readJsonBody(response.body, { maxBytes: 1_000_000, contentType: 'text/plain', signal }).catch(
      (e: unknown) => e,
    );
    const elapsed = Date.now() - started;
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).scope).toBe('attempt');
    expect(elapsed).toBeGreaterThanOrEqual(200);
    expect(elapsed).toBeLessThan(2_000);
  });

  it('an abort reason that is already a FlowdError is passed through', async () => {
    const server = await drip(500, 20);
    const controller = new AbortController();
    const response = await request(server.origin, { dispatcher: dispatcher(), signal: controller.signal });
    setTimeout(() => controller.abort(new TimeoutError('flow', 'flow deadline passed')), 100);
    await expect(
      readJsonBody(response.body, { maxBytes: 1_000_000, signal: controller.signal }),
    ).rejects.toMatchObject({ code: 'FLOWD_ERR_FLOW_TIMEOUT' });
  });
});

describe('no decompression', () => {
  it('sends no accept-encoding and refuses an encoded body instead of parsing it', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      res.end(gzipSync(JSON.stringify({ a: 1 })));
    });
    const response = await request(server.origin, { dispatcher: dispatcher() });
    expect(server.requests[0]?.headers['accept-encoding']).toBeUndefined();
    const read = readJsonBody(response.body, {
      maxBytes: 1_000_000,
      contentType: response.headers['content-type'],
      contentEncoding: response.headers['content-encoding'],
    });
    await expect(read).rejects.toBeInstanceOf(ComponentError);
    await expect(read).rejects.toThrow(/gzip-encoded body, and decompression is off/);
  });
});

describe('prototype poisoning from an upstream', () => {
  it.each([
    ['__proto__', '{"ok":true,"__proto__":{"polluted":"yes"}}'],
    ['constructor.prototype', '{"constructor":{"prototype":{"polluted":"yes"}}}'],
    ['nested __proto__', '{"items":[{"a":{"__proto__":{"polluted":"yes"}}}]}'],
  ])('%s is refused and Object.prototype stays clean', async (_label, json) => {
    const server = await serve((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(json));
    const response = await request(server.origin, { dispatcher: dispatcher() });
    const read = readJsonBody(response.body, { maxBytes: 1_000_000, contentType: response.headers['content-type'] });
    await expect(read).rejects.toBeInstanceOf(ComponentError);
    await expect(read).rejects.toThrow(/prototype poisoning/);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });
});
