/**
 * The egress connector on its own (no Agent): what it dials, fallback between approved
 * addresses, the post-connect remoteAddress check and the resolution timeout. Real
 * sockets go to 127.0.0.1 only.
 */
import { createServer, type Server } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConnector } from 'undici';
import { EgressDeniedError } from '../../../src/errors.js';
import { createEgressConnector } from '../../../src/adapters/http/egress/dispatcher.js';
import { createEgressPolicy } from '../../../src/adapters/http/egress/ip-policy.js';
import { createRebindingTestResolver, type EgressLookup } from '../../../src/adapters/http/egress/lookup.js';

let server: Server;
let port: number;

beforeAll(async () => {
  server = createServer((socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Dials 127.0.0.1:port for real when asked for `realFor`, fails every other dial. */
function baseConnector(realFor: string) {
  const dialled: Array<{ hostname: string; servername: string | undefined }> = [];
  const real = buildConnector({ timeout: 1_000 });
  const connector: buildConnector.connector = (opts, callback) => {
    dialled.push({ hostname: opts.hostname, servername: opts.servername });
    if (opts.hostname !== realFor) {
      callback(Object.assign(new Error(`connect ECONNREFUSED ${opts.hostname}`), { code: 'ECONNREFUSED' }), null);
      return;
    }
    real({ ...opts, hostname: '127.0.0.1', port: String(port) }, callback);
  };
  return { connector, dialled };
}

function connect(
  connector: buildConnector.connector,
  hostname: string,
  protocol = 'http:',
): Promise<{ error: Error | null; socket: Socket | null }> {
  return new Promise((resolve) => {
    connector({ hostname, host: `${hostname}:${port}`, protocol, port: String(port) }, (error, socket) => resolve({ error, socket }));
  });
}

describe('createEgressConnector', () => {
  it('refuses a denied IP literal without dialling', async () => {
    const base = baseConnector('127.0.0.1');
    const connector = createEgressConnector({ policy: createEgressPolicy({ allow: [] }), connector: base.connector });
    const { error } = await connect(connector, '[::1]');
    expect(error).toBeInstanceOf(EgressDeniedError);
    expect(base.dialled).toEqual([]);
  });

  it('tries the next approved address when one fails (e.g. ::1 before 127.0.0.1)', async () => {
    const base = baseConnector('127.0.0.1');
    const connector = createEgressConnector({
      policy: createEgressPolicy({ allow: ['localhost'] }),
      connector: base.connector,
      lookup: createRebindingTestResolver([['::1', '127.0.0.1']]),
    });
    const { error, socket } = await connect(connector, 'localhost');
    expect(error).toBeNull();
    socket?.destroy();
    expect(base.dialled.map((d) => d.hostname)).toEqual(['::1', '127.0.0.1']);
  });

  it('passes the hostname as TLS servername while dialling the IP', async () => {
    const base = baseConnector('none');
    const connector = createEgressConnector({
      policy: createEgressPolicy({ allow: ['api.internal'] }),
      connector: base.connector,
      lookup: createRebindingTestResolver([['10.0.0.5']]),
    });
    await connect(connector, 'api.internal.', 'https:');
    expect(base.dialled).toEqual([{ hostname: '10.0.0.5', servername: 'api.internal' }]);
  });

  it('refuses the socket when the connected address is not the approved one', async () => {
    // The base connector is asked for 127.0.0.2 but lands on 127.0.0.1, as a hijacked
    // or misbehaving connect path would; the remoteAddress re-check catches it.
    const base = baseConnector('127.0.0.2');
    const connector = createEgressConnector({ policy: createEgressPolicy({ allow: ['127.0.0.0/8'] }), connector: base.connector });
    const { error } = await connect(connector, '127.0.0.2');
    expect(error).toBeInstanceOf(EgressDeniedError);
    expect((error as EgressDeniedError).details).toMatchObject({ address: '127.0.0.2', remoteAddress: '127.0.0.1' });
  });

  it('bounds name resolution by the connect timeout', async () => {
    const hanging: EgressLookup = () => new Promise(() => undefined);
    const base = baseConnector('127.0.0.1');
    const connector = createEgressConnector({
      policy: createEgressPolicy({ allow: [] }),
      connector: base.connector,
      lookup: hanging,
      connectTimeoutMs: 50,
    });
    const { error } = await connect(connector, 'slow.example');
    expect((error as { code?: string }).code).toBe('UND_ERR_CONNECT_TIMEOUT');
    expect(base.dialled).toEqual([]);
  });

  it('reports the last connect error when every approved address fails', async () => {
    const base = baseConnector('none');
    const connector = createEgressConnector({ policy: createEgressPolicy({ allow: ['127.0.0.1'] }), connector: base.connector });
    const { error } = await connect(connector, '127.0.0.1');
    expect(error).not.toBeInstanceOf(EgressDeniedError);
    expect((error as { code?: string }).code).toBe('ECONNREFUSED');
  });
});
