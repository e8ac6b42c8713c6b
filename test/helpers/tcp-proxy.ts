/**
 * A TCP proxy on loopback in front of a real server (a database, a broker), for tests that must
 * lose a connection in the middle of a conversation: `cut('reset')` resets every connection through
 * it (RST), `cut('close')` closes them in order (FIN). New connections go through as before.
 * `freeze()` stops passing bytes either way without closing anything (a hung server: connections
 * stay open, nothing answers), new connections included, until `thaw()` passes what was held back.
 * `freeze({ newConnections: false })` freezes only the connections open now (a half-open TCP
 * connection to a server that is fine): new ones go through.
 */
import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net';

export interface TcpProxy {
  readonly port: number;
  /** Connections open through the proxy now. */
  readonly open: () => number;
  cut(how: 'reset' | 'close'): void;
  freeze(options?: { newConnections?: boolean }): void;
  thaw(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const pairs = new Set<[Socket, Socket]>();
  /** Pairs not passing bytes, until thaw(). */
  const held = new Set<[Socket, Socket]>();
  let frozen = false;
  const link = ([client, upstream]: [Socket, Socket]): void => {
    client.pipe(upstream);
    upstream.pipe(client);
  };
  const server = createServer((client) => {
    const upstream = createConnection({ port: targetPort, host: targetHost });
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const drop = (): void => {
      pairs.delete(pair);
      held.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    if (frozen) held.add(pair);
    else link(pair);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    open: () => pairs.size,
    cut(how) {
      for (const [client, upstream] of pairs) {
        if (how === 'reset') client.resetAndDestroy();
        else client.end();
        upstream.destroy();
      }
    },
    freeze(options = {}) {
      frozen = options.newConnections !== false;
      for (const pair of pairs) {
        if (held.has(pair)) continue;
        const [client, upstream] = pair;
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
        held.add(pair);
      }
    },
    thaw() {
      frozen = false;
      for (const pair of held) link(pair);
      held.clear();
    },
    async close() {
      for (const [client, upstream] of pairs) {
        client.destroy();
        upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
