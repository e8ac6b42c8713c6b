import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEngine, type BuiltEngine } from '../../src/library.js';

// Two origins on 127.0.0.1: `first` redirects, `second` answers with what it received.
const received: { server: string; method: string; url: string; authorization: string | undefined }[] = [];
let first: Server;
let second: Server;
let firstBase: string;
let secondBase: string;
let built: BuiltEngine;

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

beforeAll(async () => {
  first = createServer((request, response) => {
    received.push({ server: 'first', method: request.method ?? '', url: request.url ?? '', authorization: request.headers.authorization });
    request.resume();
    if (request.url === '/same') response.writeHead(307, { location: '/landed?from=same' }).end();
    else if (request.url === '/away') response.writeHead(303, { location: `${secondBase}/landed?from=away` }).end();
    else response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ server: 'first', url: request.url }));
  });
  second = createServer((request, response) => {
    received.push({ server: 'second', method: request.method ?? '', url: request.url ?? '', authorization: request.headers.authorization });
    request.resume();
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ server: 'second', url: request.url }));
  });
  firstBase = await listen(first);
  secondBase = await listen(second);
  const component = { adapter: 'http', base_url: firstBase, follow_redirects: 2, redirect_origins: [secondBase], headers: { authorization: 'Bearer t' } };
  built = await buildEngine({
    egressAllow: ['127.0.0.1'],
    flows: [
      { name: 'same', components: { up: component }, phases: [{ id: 'go', component: 'up', request: { method: 'POST', path: '/same', body: { a: 1 } } }] },
      { name: 'away', components: { up: component }, phases: [{ id: 'go', component: 'up', request: { method: 'POST', path: '/away', body: { a: 1 } } }] },
    ],
  });
});

afterAll(async () => {
  await built.engine.close();
  for (const server of [first, second]) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

describe('http adapter redirects over real sockets (each hop sent to its own origin and path)', () => {
  it('follows a same-origin 307, keeping method and credentials', async () => {
    received.length = 0;
    const record = await built.engine.execute('same', {});
    expect(record.status).toBe('succeeded');
    expect((record.output as { body: unknown }).body).toEqual({ server: 'first', url: '/landed?from=same' });
    expect(received).toEqual([
      { server: 'first', method: 'POST', url: '/same', authorization: 'Bearer t' },
      { server: 'first', method: 'POST', url: '/landed?from=same', authorization: 'Bearer t' },
    ]);
  });

  it('follows a 303 to an allowed origin as a GET, dropping credentials', async () => {
    received.length = 0;
    const record = await built.engine.execute('away', {});
    expect(record.status).toBe('succeeded');
    expect((record.output as { body: unknown }).body).toEqual({ server: 'second', url: '/landed?from=away' });
    expect(received).toEqual([
      { server: 'first', method: 'POST', url: '/away', authorization: 'Bearer t' },
      { server: 'second', method: 'GET', url: '/landed?from=away', authorization: undefined },
    ]);
  });
});
