/**
 * Helpers of the durable-execution tests: real databases (SQLite in a temp dir, PostgreSQL in a
 * fresh schema per test file), a counting upstream, child server processes, bounded waits.
 */
import { decodeRows } from '../../src/durable/journal-codec.js';
import { checkpointsOf } from '../../src/engine/journal/checkpoints.js';
import { recordView } from '../../src/engine/journal/record-view.js';
import type { ExecutionRecord } from '../../src/engine/record.js';
import type { ExecutionSummary } from '../../src/store/execution-store.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { ExecutionStore } from '../../src/store/execution-store.js';
import { MemoryExecutionStore } from '../../src/store/memory-store.js';
import { PostgresExecutionStore } from '../../src/store/postgres-store.js';
import { SqliteExecutionStore } from '../../src/store/sqlite-store.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const PG_URL = process.env['FLOWD_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

export type Backend = 'memory' | 'sqlite' | 'postgres';

/** A parsed JSON response body (whatever JSON.parse gives). */
export type Json = ReturnType<typeof JSON.parse>;

/** A database for one test file: env for a flowd process, a store to inspect it, and cleanup. */
export interface TestDatabase {
  readonly backend: Backend;
  /** STORE, DATA_DIR / DATABASE_URL, DATABASE_SCHEMA. */
  readonly env: Record<string, string>;
  /** Opens a (new) store on the same database. */
  open(): Promise<ExecutionStore>;
  /** Closes the stores opened here and deletes the database (temp dir or schema). */
  drop(): Promise<void>;
}

export async function createTestDatabase(backend: Backend): Promise<TestDatabase> {
  const opened: ExecutionStore[] = [];
  const track = <T extends ExecutionStore>(store: T): T => {
    opened.push(store);
    return store;
  };
  if (backend === 'memory') {
    return {
      backend,
      env: { STORE: 'memory' },
      open: async () => track(new MemoryExecutionStore({ maxExecutions: 10_000 })),
      drop: async () => {
        await Promise.allSettled(opened.map((store) => store.close()));
      },
    };
  }
  if (backend === 'sqlite') {
    const dir = await mkdtemp(join(tmpdir(), 'flowd-durable-'));
    return {
      backend,
      env: { STORE: 'sqlite', DATA_DIR: dir },
      open: async () => track(SqliteExecutionStore.open({ path: join(dir, 'flowd.db') })),
      drop: async () => {
        await Promise.allSettled(opened.map((store) => store.close()));
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
  const schema = `flowd_test_${randomBytes(5).toString('hex')}`;
  return {
    backend,
    env: { STORE: 'postgres', DATABASE_URL: PG_URL, DATABASE_SCHEMA: schema },
    open: async () => track(await PostgresExecutionStore.open({ connectionString: PG_URL, schema, poolMax: 20 })),
    drop: async () => {
      await Promise.allSettled(opened.map((store) => store.close()));
      await dropSchema(schema);
    },
  };
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** Polls `check` until it returns a value other than undefined/false; fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      const cause = last instanceof Error ? ` (last error: ${last.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/**
 * A local upstream that counts calls by path and by `idempotency-key` (which flowd derives from
 * execution id and phase, so a phase that ran twice shows up as a count of 2). `hold(path)` makes
 * calls to that path wait until `release(path)`.
 */
export class CountingUpstream {
  readonly byKey = new Map<string, number>();
  readonly byPath = new Map<string, number>();
  readonly #held = new Map<string, (() => void)[]>();
  readonly #holding = new Set<string>();
  #server: Server | undefined;
  url = '';

  async start(): Promise<this> {
    this.#server = createServer((request, response) => void this.#handle(request, response));
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  hold(path: string): void {
    this.#holding.add(path);
  }

  /** Calls waiting on `path` right now. */
  waiting(path: string): number {
    return this.#held.get(path)?.length ?? 0;
  }

  release(path: string): void {
    this.#holding.delete(path);
    for (const resume of this.#held.get(path) ?? []) resume();
    this.#held.delete(path);
  }

  count(key: string): number {
    return this.byKey.get(key) ?? 0;
  }

  calls(path: string): number {
    return this.byPath.get(path) ?? 0;
  }

  async close(): Promise<void> {
    for (const path of [...this.#held.keys()]) this.release(path);
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.#server === undefined ? resolve() : this.#server.close(() => resolve())));
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const path = (request.url ?? '/').split('?')[0]!;
    const key = String(request.headers['idempotency-key'] ?? '');
    this.byPath.set(path, (this.byPath.get(path) ?? 0) + 1);
    if (key !== '') this.byKey.set(key, (this.byKey.get(key) ?? 0) + 1);
    if (this.#holding.has(path)) {
      await new Promise<void>((resolve) => {
        const list = this.#held.get(path) ?? [];
        list.push(resolve);
        this.#held.set(path, list);
      });
    }
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ path, key }));
  }
}

/** Writes each flow as `<name>.json` into a fresh temp directory. */
export async function writeFlows(flows: readonly Record<string, unknown>[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'flowd-durable-flows-'));
  for (const flow of flows) await writeFile(join(dir, `${String(flow['name'])}.json`), JSON.stringify(flow, null, 2));
  return dir;
}

export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A flowd server in a child process (`node --import tsx src/server.ts`: no build needed). */
export class ServerProcess {
  readonly output: string[] = [];
  readonly child: ChildProcess;
  readonly url: string;
  #exited: Promise<number | null>;

  private constructor(child: ChildProcess, url: string) {
    this.child = child;
    this.url = url;
    this.#exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    const keep = (chunk: Buffer): void => {
      this.output.push(...chunk.toString('utf8').split('\n').filter((line) => line !== ''));
      if (this.output.length > 2000) this.output.splice(0, this.output.length - 2000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  static async start(env: Record<string, string>, startTimeoutMs = 60_000): Promise<ServerProcess> {
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env['PATH'] ?? '',
        HOME: process.env['HOME'] ?? '/tmp',
        HOST: '127.0.0.1',
        PORT: String(port),
        METRICS_PORT: '0',
        LOG_LEVEL: 'info',
        LOG_PRETTY: 'false',
        RATE_LIMIT_PER_MINUTE: '0',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const server = new ServerProcess(child, `http://127.0.0.1:${port}`);
    running.add(server);
    try {
      await waitFor(
        'the server to report ready',
        () => {
          if (child.exitCode !== null) throw new Error(`server exited (${child.exitCode}):\n${server.output.slice(-20).join('\n')}`);
          return server.output.some((line) => line.includes('flowd ready'));
        },
        startTimeoutMs,
        100,
      );
    } catch (error) {
      await server.kill();
      throw error;
    }
    return server;
  }

  /** SIGKILL: no shutdown hook runs, leases stay held until they expire. */
  async kill(): Promise<void> {
    running.delete(this);
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.#exited;
  }

  async request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: Json }> {
    const response = await fetch(this.url + path, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    const parsed: Json = text === '' ? undefined : JSON.parse(text);
    return { status: response.status, headers: response.headers, body: parsed };
  }
}

const running = new Set<ServerProcess>();

/** Kills every child server still running (afterAll of each test file). */
export async function killAllServers(): Promise<void> {
  await Promise.allSettled([...running].map((server) => server.kill()));
}

export const TERMINAL = new Set(['succeeded', 'failed', 'compensated', 'compensation_failed', 'timed_out', 'cancelled']);

/**
 * The env of a worker replica in the crash and replica tests: the test database, the flows, the
 * local upstream allowed, a short lease (1.5 s) and a fast poll so takeovers happen within a test.
 */
export function workerEnv(db: TestDatabase, flowsDir: string, concurrency: number): Record<string, string> {
  return {
    ...db.env,
    FLOWS_DIR: flowsDir,
    EGRESS_ALLOW: '127.0.0.1',
    LEASE_MS: '1500',
    WORKER_POLL_MS: '100',
    WORKER_CONCURRENCY: String(concurrency),
  };
}

/**
 * An execution as the store holds it: its summary, and its record and checkpoints rebuilt from the
 * stored journal rows (with their raw values when `withState`).
 */
export async function readStored(
  store: ExecutionStore,
  executionId: string,
  withState = false,
): Promise<{ summary: ExecutionSummary; record: ExecutionRecord; checkpoints: ReadonlyMap<string, unknown> } | undefined> {
  const stored = await store.get(executionId, { withState });
  if (stored === undefined) return undefined;
  const entries = decodeRows(stored.rows);
  const record = recordView(entries);
  if (!TERMINAL.has(record.status)) record.status = stored.summary.status;
  return { summary: stored.summary, record, checkpoints: checkpointsOf(entries).checkpoints };
}
