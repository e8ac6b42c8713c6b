/**
 * The nats adapter connects only to the server its URL names (the address EGRESS_ALLOW checked):
 * servers a cluster advertises in INFO `connect_urls` are ignored, so when the connection drops it
 * reconnects to the same server, never to an advertised one. Two minimal fake NATS servers.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createNatsAdapter } from '../../../src/adapters/nats/nats-adapter.js';

interface FakeNats {
  readonly port: number;
  readonly sockets: Socket[];
  /** Resolves at the next connection made to this server. */
  nextConnection(): Promise<string>;
  close(): Promise<void>;
}

/** Sends INFO (advertising `connectUrls`), answers every PING with PONG, ignores the rest. */
async function fakeNats(name: string, connectUrls: () => string[]): Promise<FakeNats> {
  const sockets: Socket[] = [];
  let waiting: ((name: string) => void)[] = [];
  const server: Server = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
    const info = { server_id: name, server_name: name, version: '2.10.0', proto: 1, headers: true, max_payload: 1048576, host: '127.0.0.1', port: 0, connect_urls: connectUrls() };
    socket.write(`INFO ${JSON.stringify(info)}\r\n`);
    socket.on('data', (chunk: Buffer) => {
      for (const _ping of chunk.toString('latin1').matchAll(/PING\r\n/g)) socket.write('PONG\r\n');
    });
    const resolvers = waiting;
    waiting = [];
    for (const resolve of resolvers) resolve(name);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    sockets,
    nextConnection: () => new Promise((resolve) => waiting.push(resolve)),
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('nats adapter and cluster updates', () => {
  const servers: FakeNats[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
  });

  it('reconnects to the server its URL names, not to one the server advertised', async () => {
    const advertised = await fakeNats('advertised', () => []);
    const named = await fakeNats('named', () => [`127.0.0.1:${advertised.port}`]);
    servers.push(named, advertised);
    const component = createNatsAdapter().create({ url: `nats://127.0.0.1:${named.port}`, subjects: ['s'] }, { name: 'bus', flow: 'f' });
    try {
      await component.ready!();
      expect(named.sockets).toHaveLength(1);
      const next = Promise.race([named.nextConnection(), advertised.nextConnection()]);
      named.sockets[0]!.destroy();
      expect(await next).toBe('named');
      expect(advertised.sockets).toHaveLength(0);
      await component.ready!();
    } finally {
      await component.close?.();
    }
  });
});
