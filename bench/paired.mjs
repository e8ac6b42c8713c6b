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
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cpuPerExecution, executionRunner, FLOW_NAMES, loadService, REPO_DIR, startFixture } from './lib/in-process.mjs';

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
const flows = positional[1]?.split(',') ?? FLOW_NAMES;

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const quantile = (values, q) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.max(0, Math.round(q * (values.length - 1))))];

const fixture = await startFixture('flowd-paired-');
const services = { before: await loadService(builds.before, fixture.env), after: await loadService(builds.after, fixture.env) };
console.log(`${new Date().toISOString()}, Node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, load average at start ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
console.log(`paired in one process: before ${path.relative(REPO_DIR, builds.before) || '.'}, after ${path.relative(REPO_DIR, builds.after) || '.'}; mode ${mode}; ${concurrency} in flight; ${blocks} blocks × ${blockSize} executions each, A B B A order`);
console.log('| flow | before µs/exec | after µs/exec | after ÷ before (median of pairs) | quartiles | pairs where after is lower |');
console.log('|---|---:|---:|---:|---|---:|');
const results = [];
try {
  for (const flow of flows) {
    const run = { before: executionRunner(services.before, flow, mode), after: executionRunner(services.after, flow, mode) };
    await cpuPerExecution(run.before, blockSize, concurrency);
    await cpuPerExecution(run.after, blockSize, concurrency);
    const times = { before: [], after: [] };
    for (let i = 0; i < blocks; i++) {
      for (const side of i % 2 === 0 ? ['before', 'after'] : ['after', 'before']) times[side].push(await cpuPerExecution(run[side], blockSize, concurrency));
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
  fixture.close();
}
const out = option('json', undefined);
if (out !== undefined) writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), node: process.version, mode, blocks, blockSize, builds, results }, null, 2)}\n`);
