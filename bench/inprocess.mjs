/**
 * Micro-benchmark: CPU µs per execution of a benchmark flow inside one flowd process, without
 * sockets between the client and flowd —
 *   engine      through the engine as the service wires it (middleware, observer, logs, store);
 *   inject      through the API app with Fastify's `inject` (routing, body parsing, hooks and
 *               serialisation too; inject itself costs a few tens of µs that a socket does not);
 *   inject-min  the same with `Prefer: return=minimal`.
 * Flows that call the upstream get bench/upstream.mjs in a child process on a free port (its CPU
 * is not counted). Not a test: nothing is asserted but that every execution succeeds.
 *
 *   npm run build && node bench/inprocess.mjs [flow] [count]     (default bench-transform3 20000)
 *   FLOWD_DIST=.dist-x node bench/inprocess.mjs …                  (another build output, relative to the repo)
 *   INPROCESS_ONLY=engine|inject node bench/inprocess.mjs …         (one kind of measure, e.g. under --cpu-prof)
 *   INPROCESS_CONCURRENCY=50 node bench/inprocess.mjs …             (executions in flight at once; default 1)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const REPO_DIR = fileURLToPath(new URL('..', import.meta.url));
const dist = path.resolve(REPO_DIR, process.env.FLOWD_DIST ?? 'dist');
const { loadConfig } = await import(pathToFileURL(path.join(dist, 'src/config/env.js')).href);
const { createService } = await import(pathToFileURL(path.join(dist, 'src/service.js')).href);

const flow = process.argv[2] ?? 'bench-transform3';
const count = Number(process.argv[3] ?? 20000);
const input = { name: 'bench', items: [1, 2, 3, 4, 5] };
const payload = JSON.stringify({ input });
// Executions in flight at once (the socket benchmark keeps 50): more live objects at each collection.
const concurrency = Number(process.env.INPROCESS_CONCURRENCY ?? 1);

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });

// The flows, pointed at an upstream of our own.
const upstreamPort = await freePort();
const upstream = spawn(process.execPath, [fileURLToPath(new URL('./upstream.mjs', import.meta.url)), String(upstreamPort)], { stdio: ['ignore', 'pipe', 'inherit'] });
await new Promise((resolve) => upstream.stdout.once('data', resolve));
const flowsDir = mkdtempSync(path.join(os.tmpdir(), 'flowd-inprocess-'));
for (const file of readdirSync(new URL('./flows', import.meta.url))) {
  const text = readFileSync(new URL(`./flows/${file}`, import.meta.url), 'utf8');
  writeFileSync(path.join(flowsDir, file), text.replaceAll('http://127.0.0.1:3001', `http://127.0.0.1:${upstreamPort}`));
}

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
const service = await createService(loadConfig(env), { env });

async function measure(label, run) {
  const loop = async (n) => {
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
  };
  await loop(Math.min(2000, count));
  const rounds = [];
  for (let round = 0; round < 3; round++) {
    const start = process.cpuUsage();
    await loop(count);
    const used = process.cpuUsage(start);
    rounds.push((used.user + used.system) / count);
  }
  console.log(`${label.padEnd(12)} ${Math.min(...rounds).toFixed(1).padStart(7)} µs/execution  (rounds ${rounds.map((r) => r.toFixed(1)).join(', ')})`);
}

const only = process.env.INPROCESS_ONLY; // engine | inject: one kind of measure (for profiles)
try {
  if (only !== 'inject') await measure('engine', async () => {
    const record = await service.built.engine.start(flow, input, {}).done;
    if (record.status !== 'succeeded') throw new Error(JSON.stringify(record.error));
  });
  for (const minimal of only === 'engine' ? [] : [false, true]) {
    await measure(minimal ? 'inject-min' : 'inject', async () => {
      const response = await service.app.inject({
        method: 'POST',
        url: `/flows/${flow}/execute`,
        payload,
        headers: { 'content-type': 'application/json', ...(minimal ? { prefer: 'return=minimal' } : {}) },
      });
      if (response.statusCode !== 200) throw new Error(response.body);
    });
  }
} finally {
  await service.close();
  upstream.kill();
  rmSync(flowsDir, { recursive: true, force: true });
}
