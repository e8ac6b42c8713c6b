import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const STARTUP_TIMEOUT_MS = 30_000;

export type Line = Record<string, unknown>;

export interface ServerProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly lines: Line[];
  readonly api: string;
  readonly metrics: string;
  /** Resolves with the first line (already seen or future) matching `msg`. */
  waitForLine(msg: string | RegExp, timeoutMs: number): Promise<Line>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  stderr(): string;
}

/**
 * A flowd process started from the sources (`node --import tsx <script> …args`, nothing to build),
 * with JSON log lines parsed as they come; resolves once it logged `flowd ready`.
 */
export async function startServerProcess(args: readonly string[], env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: ROOT,
    env: {
      PATH: process.env['PATH'] ?? '',
      HOST: '127.0.0.1',
      PORT: '0',
      METRICS_PORT: '0',
      LOG_LEVEL: 'info',
      LOG_PRETTY: 'false',
      STORE: 'memory',
      ...env,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: Line[] = [];
  const waiters: { test: (line: Line) => boolean; resolve: (line: Line) => void }[] = [];
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout }).on('line', (text) => {
    let line: Line;
    try {
      line = JSON.parse(text) as Line;
    } catch {
      line = { msg: text, unparsed: true };
    }
    lines.push(line);
    for (const waiter of [...waiters]) {
      if (waiter.test(line)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  const waitForLine = (msg: string | RegExp, timeoutMs: number): Promise<Line> => {
    const test = (line: Line): boolean => (typeof msg === 'string' ? line['msg'] === msg : msg.test(String(line['msg'])));
    const seen = lines.find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise<Line>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no log line "${String(msg)}" within ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
      waiters.push({ test, resolve: (line) => (clearTimeout(timer), resolve(line)) });
      void exited.then(() =>
        setTimeout(() => {
          clearTimeout(timer);
          reject(new Error(`server exited before logging "${String(msg)}"; stderr: ${stderr}`));
        }, 50),
      );
    });
  };
  const ready = await waitForLine('flowd ready', STARTUP_TIMEOUT_MS);
  return {
    child,
    lines,
    api: `http://127.0.0.1:${String(ready['port'])}`,
    metrics: `http://127.0.0.1:${String(ready['metricsPort'])}`,
    waitForLine,
    exited,
    stderr: () => stderr,
  };
}
