/**
 * A TCP proxy in front of PostgreSQL that reads the frontend protocol (what the client sends) and
 * counts statements and round trips: every `Execute` or simple `Query` is a statement; every
 * `Sync` or simple `Query` ends a round trip (the client then waits for ReadyForQuery). It sees
 * exactly what reaches the server, whatever the driver does.
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

export interface WireCounts {
  statements: number;
  roundTrips: number;
}

export class PgWireCounter {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #counts: WireCounts = { statements: 0, roundTrips: 0 };
  port = 0;

  constructor(target: { host: string; port: number }) {
    this.#server = createServer((client) => {
      const server = connect(target.port, target.host);
      this.#sockets.add(client).add(server);
      const forget = (): void => {
        this.#sockets.delete(client);
        this.#sockets.delete(server);
        client.destroy();
        server.destroy();
      };
      client.on('close', forget).on('error', forget);
      server.on('close', forget).on('error', forget);
      server.pipe(client);
      let buffer = Buffer.alloc(0);
      let started = false;
      client.on('data', (chunk: Buffer) => {
        server.write(chunk);
        buffer = Buffer.concat([buffer, chunk]);
        for (;;) {
          if (!started) {
            // The startup message has no type byte: a length, then the protocol version.
            if (buffer.length < 4) break;
            const length = buffer.readInt32BE(0);
            if (buffer.length < length) break;
            buffer = buffer.subarray(length);
            started = true;
            continue;
          }
          if (buffer.length < 5) break;
          const length = buffer.readInt32BE(1);
          if (buffer.length < 1 + length) break;
          this.#count(String.fromCharCode(buffer[0]!));
          buffer = buffer.subarray(1 + length);
        }
      });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as AddressInfo).port;
    return this;
  }

  /** The counts since the last `take` (and resets them). */
  take(): WireCounts {
    const counts = this.#counts;
    this.#counts = { statements: 0, roundTrips: 0 };
    return counts;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #count(type: string): void {
    if (type === 'E') this.#counts.statements += 1;
    else if (type === 'S') this.#counts.roundTrips += 1;
    else if (type === 'Q') {
      this.#counts.statements += 1;
      this.#counts.roundTrips += 1;
    }
  }
}
