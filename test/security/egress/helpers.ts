/**
 * Test helpers for the egress guards. Every socket these open goes to 127.0.0.1: the
 * recording connector records the address the egress connector approved and then dials
 * the local test server instead, so "allowed" cases for 169.254.169.254, ::, 0.0.0.0 …
 * are proven without sending a packet anywhere but loopback. Its sockets report the
 * approved address as `remoteAddress`, since the egress connector re-checks that.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildConnector } from 'undici';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface TestServer {
  port: number;
  /** http://127.0.0.1:PORT */
  origin: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse, recorded: RecordedRequest) => void;

export async function startServer(handler: Handler): Promise<TestServer> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const recorded = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() };
      requests.push(recorded);
      handler(req, res, recorded);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface RecordingConnector extends buildConnector.connector {
  /** The `hostname` each dial was asked for: the IP the egress connector approved. */
  readonly dialled: string[];
}

/**
 * A base connector that records what it was asked to dial and, if `port` is given,
 * connects to 127.0.0.1:port instead; without a port it refuses every dial, so a test
 * can assert that a denied address never got as far as a socket.
 */
export function recordingConnector(port?: number): RecordingConnector {
  const dialled: string[] = [];
  const real = buildConnector({ timeout: 2_000 });
  const connector: buildConnector.connector = (opts, callback) => {
    dialled.push(opts.hostname);
    if (port === undefined) {
      callback(new Error(`test connector: refusing to dial ${opts.hostname}`), null);
      return;
    }
    real({ ...opts, protocol: 'http:', hostname: '127.0.0.1', port: String(port) }, (error, socket) => {
      if (error !== null) {
        callback(error, null);
        return;
      }
      // Play the part of the network: the socket reports the address that was asked
      // for, as a real connection to it would. (The egress connector re-checks it.)
      Object.defineProperty(socket, 'remoteAddress', { value: opts.hostname, configurable: true });
      callback(null, socket);
    });
  };
  return Object.assign(connector, { dialled });
}

/** A connector that only ever dials 127.0.0.1 for real, recording every dial. */
export function loopbackOnlyConnector(): RecordingConnector {
  const dialled: string[] = [];
  const real = buildConnector({ timeout: 2_000 });
  const connector: buildConnector.connector = (opts, callback) => {
    dialled.push(opts.hostname);
    if (opts.hostname !== '127.0.0.1') {
      callback(new Error(`test connector: refusing to dial ${opts.hostname}`), null);
      return;
    }
    real(opts, callback);
  };
  return Object.assign(connector, { dialled });
}
