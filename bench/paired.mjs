/**
 * Paired before/after: the CPU per execution of two flowd builds, measured in ONE process. On a
 * shared 2-core VM the same build measured in two processes differs by 10–25 % (JIT and heap
 * layout, neighbours); alternating blocks of executions between two services in one process puts
 * both under the same conditions, and the per-block ratios show how sure a difference is.
 *
 *   npm run build && node bench/paired.mjs <before-dist> [flows] [options]
 *     flows      comma-separated (default: every flow in bench/flows)
 *     --after=<dist>       the other build (default dist)
 *     --mode=<m>           engine (default; the engine as the service wires it) | inject | inject-min
 *     --blocks=<n>         blocks per build (default 12), in A B B A order
 *     --block=<n>          executions per block (default 400)
 *     --concurrency=<n>    executions in flight at once (default 1; the socket benchmark keeps 50)
 *
 * Garbage collection runs when V8 decides, so a block may pay for some of the other build's garbage:
 * the A B B A order and the number of blocks even that out. Both services share the upstream
 * (bench/upstream.mjs in a child process, its CPU not counted) and the process's node_modules.
 * Reported: each build's median µs per execution, and the median and quartiles of after ÷ before
 * over the paired blocks. Not a test: nothing is asserted but that every execution succeeds.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const REPO_DIR = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const option = (name, fallback) => args.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const positional = args.filter((arg) => !arg.startsWith('--'));
if (positional[0] === undefined) {
  console.error('usage: node bench/paired.mjs <before-dist> [flow,…] [--after=dist] [--mode=engine|inject|inject-min] [--blocks=12] [--block=400]');
  process.exit(2);
}
const builds = { before: path.resolve(REPO_DIR, positional[0]), after: path.resolve(REPO_DIR, option('after', 'dist')) };
const mode = option('mode', 'engine');
const blocks = Number(option('blocks', 12));
const blockSize = Number(option('block', 400));
const concurrency = Number(option('concurrency', 1));
const flowFiles = readdirSync(new URL('./flows', import.meta.url));
const flows = positional[1]?.split(',') ?? flowFiles.map((file) => file.replace(/\.ya?ml$/, '')).sort();
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

const upstreamPort = await freePort();
const upstream = spawn(process.execPath, [fileURLToPath(new URL('./upstream.mjs', import.meta.url)), String(upstreamPort)], { stdio: ['ignore', 'pipe', 'inherit'] });
await new Promise((resolve) => upstream.stdout.once('data', resolve));
const flowsDir = mkdtempSync(path.join(os.tmpdir(), 'flowd-paired-'));
for (const file of flowFiles) {
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

async function load(dist) {
  const { loadConfig } = await import(pathToFileURL(path.join(dist, 'src/config/env.js')).href);
  const { createService } = await import(pathToFileURL(path.join(dist, 'src/service.js')).href);
  return createService(loadConfig(env), { env });
}

function runner(service, flow) {
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

async function block(run, n) {
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

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const quantile = (values, q) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.max(0, Math.round(q * (values.length - 1))))];

const services = { before: await load(builds.before), after: await load(builds.after) };
console.log(`${new Date().toISOString()}, Node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, load average at start ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
console.log(`paired in one process: before ${path.relative(REPO_DIR, builds.before) || '.'}, after ${path.relative(REPO_DIR, builds.after) || '.'}; mode ${mode}; ${concurrency} in flight; ${blocks} blocks × ${blockSize} executions each, A B B A order`);
console.log('| flow | before µs/exec | after µs/exec | after ÷ before (median of pairs) | quartiles | pairs where after is lower |');
console.log('|---|---:|---:|---:|---|---:|');
const results = [];
try {
  for (const flow of flows) {
    const run = { before: runner(services.before, flow), after: runner(services.after, flow) };
    await block(run.before, blockSize);
    await block(run.after, blockSize);
    const times = { before: [], after: [] };
    for (let i = 0; i < blocks; i++) {
      for (const side of i % 2 === 0 ? ['before', 'after'] : ['after', 'before']) times[side].push(await block(run[side], blockSize));
    }
    const ratios = times.after.map((after, i) => after / times.before[i]);
    const lower = ratios.filter((ratio) => ratio < 1).length;
    const row = { flow, before: median(times.before), after: median(times.after), ratio: median(ratios), q1: quantile(ratios, 0.25), q3: quantile(ratios, 0.75), lower, blocks };
    results.push({ ...row, times });
    const change = (ratio) => `${ratio < 1 ? '−' : '+'}${Math.abs((ratio - 1) * 100).toFixed(0)}%`;
    console.log(`| ${flow} | ${row.before.toFixed(1)} | ${row.after.toFixed(1)} | ${row.ratio.toFixed(3)} (${change(row.ratio)}) | ${row.q1.toFixed(3)}–${row.q3.toFixed(3)} | ${lower}/${blocks} |`);
  }
} finally {
  await services.before.close();
  await services.after.close();
  upstream.kill();
  rmSync(flowsDir, { recursive: true, force: true });
}
const out = option('json', undefined);
if (out !== undefined) writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), node: process.version, mode, blocks, blockSize, builds, results }, null, 2)}\n`);
