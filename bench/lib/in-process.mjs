// What the in-process benchmarks (bench/inprocess.mjs, bench/paired.mjs) share: the benchmark upstream in a child
// process on a free port, the bench flows copied to point at it, the environment a flowd service runs with, the
// loaders of a build's service, and the loop that runs executions with N in flight.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { copyFlowsFor, FLOWS_DIR } from './flows.mjs';

export const REPO_DIR = fileURLToPath(new URL('../..', import.meta.url));
export const FLOW_NAMES = readdirSync(FLOWS_DIR).map((file) => file.replace(/\.ya?ml$/, '')).sort();
const input = { name: 'bench', items: [1, 2, 3, 4, 5] };
const payload = JSON.stringify({ input });

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });

/** Starts the upstream and writes the flows pointed at it; `env` is what services are created with. */
export async function startFixture(tmpPrefix) {
  const upstreamPort = await freePort();
  const upstream = spawn(process.execPath, [fileURLToPath(new URL('../upstream.mjs', import.meta.url)), String(upstreamPort)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve) => upstream.stdout.once('data', resolve));
  const flowsDir = mkdtempSync(path.join(os.tmpdir(), tmpPrefix));
  copyFlowsFor(upstreamPort, flowsDir);
  const env = {
    ...process.env,
    FLOWS_DIR: flowsDir,
    STORE: 'memory',
    LOG_LEVEL: 'warn',
    AUTH_DISABLED: 'true',
    RATE_LIMIT_PER_MINUTE: '0',
    EGRESS_ALLOW: '127.0.0.1,localhost',
    NODE_ENV: 'production',
    MAX_EVENT_LOOP_DELAY_MS: '0',
    HOST: '127.0.0.1',
  };
  return {
    env,
    close() {
      upstream.kill();
      rmSync(flowsDir, { recursive: true, force: true });
    },
  };
}

/** A flowd service of the build in `dist` (a `dist/` directory, or another tsc output). */
export async function loadService(dist, env) {
  const { loadConfig } = await import(pathToFileURL(path.join(dist, 'src/config/env.js')).href);
  const { createService } = await import(pathToFileURL(path.join(dist, 'src/service.js')).href);
  return createService(loadConfig(env), { env });
}

/** One execution of `flow`: `engine` (the engine as the service wires it), `inject` or `inject-min` (through the API). */
export function executionRunner(service, flow, mode) {
  if (mode === 'engine') {
    return async () => {
      const record = await service.built.engine.start(flow, input, {}).done;
      if (record.status !== 'succeeded') throw new Error(JSON.stringify(record.error));
    };
  }
  const headers = { 'content-type': 'application/json', ...(mode === 'inject-min' ? { prefer: 'return=minimal' } : {}) };
  return async () => {
    const response = await service.app.inject({ method: 'POST', url: `/flows/${flow}/execute`, payload, headers });
    if (response.statusCode !== 200) throw new Error(response.body);
  };
}

/** Runs `n` executions, `concurrency` in flight; returns the process's CPU µs per execution meanwhile. */
export async function cpuPerExecution(run, n, concurrency) {
  const start = process.cpuUsage();
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      await run();
      // A macrotask now and then, as a server has: timers (log flushes, metrics) get to run.
      if (i % 200 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const used = process.cpuUsage(start);
  return (used.user + used.system) / n;
}
