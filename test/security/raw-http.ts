/**
 * Raw HTTP/1.1 over a TCP socket to 127.0.0.1: the request line and headers are sent exactly as
 * written (no client-side normalisation of `..`, `//`, `%2F`…), which is what an attacker does.
 */
import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  raw: string;
}

export function parseRawResponse(raw: string): RawResponse {
  const split = raw.indexOf('\r\n\r\n');
  const head = split < 0 ? raw : raw.slice(0, split);
  const body = split < 0 ? '' : raw.slice(split + 4);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1] ?? 0), headers, body, raw };
}

/**
 * Sends `chunks` (strings written in order, with `gapMs` between them) and resolves with what
 * the server answered once it closes the connection (or after `timeoutMs`).
 */
export function rawRequest(port: number, chunks: readonly string[], options: { gapMs?: number; timeoutMs?: number } = {}): Promise<RawResponse> {
  const { gapMs = 0, timeoutMs = 10_000 } = options;
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    let dripping: NodeJS.Timeout | undefined;
    const finish = (): void => {
      clearTimeout(timer);
      clearTimeout(dripping);
      socket.destroy();
      resolve(parseRawResponse(received));
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (data: string) => {
      received += data;
    });
    socket.on('end', finish);
    socket.on('close', finish);
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // The server may reset the connection after answering; what it answered is what counts.
      if (received !== '') finish();
      else if (error.code === 'ECONNRESET' || error.code === 'EPIPE') finish();
      else {
        clearTimeout(timer);
        reject(error);
      }
    });
    socket.on('connect', () => {
      let index = 0;
      const writeNext = (): void => {
        if (index >= chunks.length || socket.destroyed) return;
        socket.write(chunks[index++]!);
        if (gapMs === 0) writeNext();
        else dripping = setTimeout(writeNext, gapMs);
      };
      writeNext();
    });
  });
}

/** One complete request (Connection: close) with an optional JSON body. */
export function rawHttp(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<RawResponse> {
  const payload = body === undefined ? '' : JSON.stringify(body);
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  if (body !== undefined) lines.push('Content-Type: application/json', `Content-Length: ${Buffer.byteLength(payload)}`);
  return rawRequest(port, [`${lines.join('\r\n')}\r\n\r\n${payload}`]);
}

export interface RawConnection {
  write(text: string): void;
  /** Everything the server sent so far. */
  received(): string;
  /** Resolves with what the server sent once the connection closed. */
  readonly closed: Promise<RawResponse>;
  isClosed(): boolean;
  destroy(): void;
}

/** An open TCP connection to 127.0.0.1 that the test writes to by hand (idle, dripping, kept alive). */
export function openConnection(port: number): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (data: string) => {
      received += data;
    });
    const closed = new Promise<RawResponse>((done) => {
      socket.on('close', () => done(parseRawResponse(received)));
    });
    socket.on('error', () => undefined); // a reset after the answer: `closed` carries what arrived
    socket.once('connect', () =>
      resolve({
        write: (text) => void socket.write(text),
        received: () => received,
        closed,
        isClosed: () => socket.closed,
        destroy: () => socket.destroy(),
      }),
    );
    socket.once('error', reject);
  });
}
