import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEngine, type BuiltEngine } from '../../src/library.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

let server: Server;
let base: string;
const seen: Seen[] = [];
let built: BuiltEngine;

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      seen.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body });
      if (request.url?.startsWith('/hang')) return; // never answers
      if (request.url?.startsWith('/missing')) {
        response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"no such thing"}');
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json', 'x-upstream': 'yes' });
      response.end(JSON.stringify({ echoed: body === '' ? null : JSON.parse(body), path: request.url }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  built = await buildEngine({
    egressAllow: ['127.0.0.1'],
    flows: [
      {
        name: 'call',
        components: { up: { adapter: 'http', base_url: `${base}/api`, headers: { 'x-static': 'yes' } } },
        phases: [
          {
            id: 'post',
            component: 'up',
            request: { method: 'POST', path: "{% '/items/' & input.id %}", query: { q: '{% input.q %}', n: 2 }, headers: { 'x-dynamic': '{% input.id %}' }, body: { id: '{% input.id %}', list: [1, 2] } },
          },
        ],
      },
      {
        name: 'missing',
        components: { up: { adapter: 'http', base_url: base } },
        phases: [{ id: 'get', component: 'up', request: { method: 'GET', path: '/missing' } }],
      },
      {
        name: 'plain-get',
        // An empty "?" on the base passes its checks; the wire path has no query either way.
        components: { up: { adapter: 'http', base_url: `${base}/api/?` } },
        phases: [
          { id: 'bare', component: 'up', request: { method: 'GET', path: '/ping' } },
          { id: 'empty', component: 'up', request: { method: 'GET', path: '/ping', query: { none: null } } },
          { id: 'root', component: 'up', request: { method: 'GET' } },
        ],
        output: "{% [phases.bare.body.path, phases.empty.body.path, phases.root.body.path] %}",
      },
      {
        name: 'hang',
        timeout_ms: 300,
        components: { up: { adapter: 'http', base_url: base, retry_policy: { max_attempts: 1 } } },
        phases: [{ id: 'wait', component: 'up', request: { method: 'GET', path: '/hang' } }],
      },
    ],
  });
});

afterAll(async () => {
  await built.engine.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('http adapter over a real socket', () => {
  it('sends method, path under the base path, query, headers and a JSON body, and parses the JSON answer', async () => {
    const record = await built.engine.execute('call', { id: 'a b', q: 'x&y' });
    expect(record.status).toBe('succeeded');
    const request = seen.at(-1)!;
    expect(request.method).toBe('POST');
    expect(request.url).toBe('/api/items/a%20b?q=x%26y&n=2');
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['x-static']).toBe('yes');
    expect(request.headers['x-dynamic']).toBe('a b');
    expect(request.headers['idempotency-key']).toBe(`${record.executionId}:post`);
    expect(JSON.parse(request.body)).toEqual({ id: 'a b', list: [1, 2] });
    expect(record.output).toMatchObject({ status: 200, headers: { 'x-upstream': 'yes' }, body: { echoed: { id: 'a b', list: [1, 2] } } });
  });

  it('sends the path (and no query) that the target URL has, through the pooled dispatcher', async () => {
    const record = await built.engine.execute('plain-get', {});
    expect(record.status).toBe('succeeded');
    expect(record.output).toEqual(['/api/ping', '/api/ping', '/api/']);
    expect(seen.slice(-3).map((s) => `${s.method} ${s.url} ${s.headers.host}`)).toEqual(
      ['/api/ping', '/api/ping', '/api/'].map((url) => `GET ${url} ${new URL(base).host}`),
    );
  });

  it('turns a non-2xx answer into a component error carrying the status, without retrying a 404', async () => {
    const before = seen.filter((s) => s.url === '/missing').length;
    const record = await built.engine.execute('missing', {});
    expect(record.status).toBe('failed');
    expect(record.error).toMatchObject({ code: 'FLOWD_ERR_COMPONENT_FAILED', status: 404, phase: 'get', attempts: 1 });
    expect(seen.filter((s) => s.url === '/missing').length - before).toBe(1);
  });

  it('aborts the upstream request when the flow deadline passes', async () => {
    const closed = new Promise<void>((resolve) => server.once('request', (request: IncomingMessage) => request.socket.once('close', () => resolve())));
    const record = await built.engine.execute('hang', {});
    expect(record.status).toBe('timed_out');
    expect(record.error).toMatchObject({ code: 'FLOWD_ERR_FLOW_TIMEOUT', phase: 'wait' });
    await closed;
  });
});
