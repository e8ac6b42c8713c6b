/**
 * Shared helpers of the observability and lifecycle tests: flow files in a temp directory, a
 * service with captured log lines, real listeners on 127.0.0.1, a Prometheus text parser and a
 * tiny local upstream.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../src/config/env.js';
import { createService, type Service, type ServiceOptions } from '../../src/service.js';

/** Writes each flow as `<name>.json` into a fresh temp directory. */
export async function writeFlows(flows: readonly Record<string, unknown>[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'flowd-obs-'));
  for (const flow of flows) await writeFile(join(dir, `${String(flow['name'])}.json`), JSON.stringify(flow, null, 2));
  return dir;
}

/** A log destination that keeps every raw line and its parsed JSON. */
export class LineCapture extends Writable {
  readonly raw: string[] = [];
  #pending = '';

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const text = this.#pending + chunk.toString();
    const parts = text.split('\n');
    this.#pending = parts.pop() ?? '';
    for (const line of parts) if (line.trim() !== '') this.raw.push(line);
    callback();
  }

  get lines(): Record<string, unknown>[] {
    return this.raw.map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  get text(): string {
    return this.raw.join('\n') + this.#pending;
  }
}

export interface TestService extends Service {
  readonly logs: LineCapture;
  readonly flowsDir: string;
  /** Closes the service and removes the flows directory. */
  dispose(): Promise<void>;
}

/** createService(loadConfig(...)) over the given flows, logging into a LineCapture. */
export async function startService(
  flows: readonly Record<string, unknown>[],
  env: Record<string, string> = {},
  options: Omit<ServiceOptions, 'logDestination'> = {},
): Promise<TestService> {
  const flowsDir = await writeFlows(flows);
  const logs = new LineCapture();
  const config = loadConfig({ FLOWS_DIR: flowsDir, STORE: 'memory', LOG_LEVEL: 'info', LOG_PRETTY: 'false', RATE_LIMIT_PER_MINUTE: '0', ...env });
  const service = await createService(config, { ...options, logDestination: logs });
  let disposed = false;
  return Object.assign(service, {
    logs,
    flowsDir,
    async dispose() {
      if (disposed) return;
      disposed = true;
      await service.close();
      await rm(flowsDir, { recursive: true, force: true });
    },
  });
}

/** Listens on 127.0.0.1 on a free port; returns the base URL. */
export async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL_PAIR = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses the Prometheus text exposition format into samples (comments skipped). */
export function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE_LINE.exec(line);
    if (match === null) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(LABEL_PAIR)) {
      labels[key!] = value!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    }
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the one sample with exactly these labels (undefined when absent). */
export function valueOf(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels);
  const found = samples.filter(
    (sample) =>
      sample.name === name &&
      Object.keys(sample.labels).length === wanted.length &&
      wanted.every(([key, value]) => sample.labels[key] === value),
  );
  if (found.length > 1) throw new Error(`${found.length} samples match ${name} ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

/** GET /metrics over a real socket, parsed. */
export async function scrape(metricsBaseUrl: string): Promise<{ text: string; samples: Sample[] }> {
  const response = await fetch(`${metricsBaseUrl}/metrics`);
  if (response.status !== 200) throw new Error(`scrape answered ${response.status}`);
  const text = await response.text();
  return { text, samples: parsePrometheus(text) };
}

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

export interface Upstream {
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** Server-side sockets currently open. */
  readonly openSockets: Set<Socket>;
  close(): Promise<void>;
}

/** A local HTTP upstream on 127.0.0.1 answering with `handler` and recording every request. */
export async function startUpstream(
  handler: (request: IncomingMessage, response: ServerResponse, index: number) => void,
): Promise<Upstream> {
  const requests: RecordedRequest[] = [];
  const openSockets = new Set<Socket>();
  const server = createServer((request, response) => {
    const index = requests.length;
    requests.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers });
    request.resume();
    request.on('end', () => handler(request, response, index));
  });
  server.on('connection', (socket) => {
    openSockets.add(socket);
    socket.on('close', () => openSockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    openSockets,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify(body));
}

/** Polls `check` every 10 ms until it returns true, failing after `timeoutMs`. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
