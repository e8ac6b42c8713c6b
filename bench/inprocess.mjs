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
import path from 'node:path';
import { cpuPerExecution, executionRunner, loadService, REPO_DIR, startFixture } from './lib/in-process.mjs';

const dist = path.resolve(REPO_DIR, process.env.FLOWD_DIST ?? 'dist');
const flow = process.argv[2] ?? 'bench-transform3';
const count = Number(process.argv[3] ?? 20000);
// Executions in flight at once (the socket benchmark keeps 50): more live objects at each collection.
const concurrency = Number(process.env.INPROCESS_CONCURRENCY ?? 1);

const fixture = await startFixture('flowd-inprocess-');
const service = await loadService(dist, fixture.env);

async function measure(label, run) {
  await cpuPerExecution(run, Math.min(2000, count), concurrency);
  const rounds = [];
  for (let round = 0; round < 3; round++) rounds.push(await cpuPerExecution(run, count, concurrency));
  console.log(`${label.padEnd(12)} ${Math.min(...rounds).toFixed(1).padStart(7)} µs/execution  (rounds ${rounds.map((r) => r.toFixed(1)).join(', ')})`);
}

const only = process.env.INPROCESS_ONLY; // engine | inject: one kind of measure (for profiles)
try {
  if (only !== 'inject') await measure('engine', executionRunner(service, flow, 'engine'));
  if (only !== 'engine') for (const mode of ['inject', 'inject-min']) await measure(mode, executionRunner(service, flow, mode));
} finally {
  await service.close();
  fixture.close();
}
