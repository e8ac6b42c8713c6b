#!/usr/bin/env node
// flowd benchmark harness — plain ESM, runs with `node bench/run.mjs` (flowd itself must be built: dist/src/server.js).
//
//   node bench/run.mjs                 full: every scenario, 3 rounds interleaved, 3 s warm-up + 10 s measured each
//   node bench/run.mjs --quick         smoke: 1 round, 2 s warm-up + 3 s measured
//   node bench/run.mjs --soak[=N]      memory soak: N executions (default 1 000 000) of the transform flow, RSS sampled
//   options: --only=<id|group|glob,…> --duration=<s> --warmup=<s> --connections=<n> --rounds=<n> --out=<dir>
//            --noisy-retries=<n> (default 1: a window where other processes took >25% CPU is measured again)
//            --no-peer (skip Node-RED)  --verbose (child output to stderr)
//            --profile (flowd runs with --cpu-prof; profile.md: self time by part of the path, module, function)
//            --before=<dist> (or FLOWD_BEFORE_DIST): every flowd scenario also on that build, with a before/after table
//            --no-pg-count (skip the PostgreSQL counting pass: transactions / statements / round trips per execution)
//
// Starts, all on 127.0.0.1: the upstream (bench/upstream.mjs), the hand-written limits (bench/baselines.mjs), flowd
// (dist/src/server.js with FLOWS_DIR=bench/flows and --max-semi-space-size=32; plus SQLite / PostgreSQL instances and
// two PostgreSQL replicas pinned one per core when selected, each PostgreSQL one on its own schema) and Node-RED 4.1
// (installed into bench/.peer/ on first use). Every child is stopped at the end and guards itself (bench/lib/guard.mjs)
// against outliving the harness. Writes bench/results/latest.{md,json} (soak: soak.{md,json}). Timings are reported,
// never asserted: the exit code is 0 whatever the targets say, non-zero only when the harness itself fails.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { httpCall } from './lib/http.mjs';
import { mergeLoads, runLoad } from './lib/load.mjs';
import { ensureNodeRed, startNodeRed } from './lib/peer.mjs';
import { renderProfileMarkdown, summarizeProfile } from './lib/profile.mjs';
import {
  GUARD_URL,
  freePort,
  CLK_TCK,
  isListening,
  killAllSync,
  pauseAllBut,
  readMachineBusyTicks,
  readMem,
  sampler,
  sleep,
  startProcess,
  stopAll,
  stopProcess,
  waitReady,
} from './lib/proc.mjs';
import { connectPg, dropSchema, PgWireCounter, postgresCpuDelta, postgresCpuTicks, settledStats } from './lib/pg.mjs';
import { renderMarkdown, summarize } from './lib/report.mjs';
import { evaluateTargets } from './lib/targets.mjs';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const REPO_DIR = path.dirname(BENCH_DIR);
// BENCH_FLOWD_SERVER points the harness at another flowd entry point (e.g. another checkout's build).
const SERVER_JS = path.resolve(REPO_DIR, process.env.BENCH_FLOWD_SERVER ?? path.join('dist', 'src', 'server.js'));
// V8 flags flowd runs with — the same as `npm start` and the Docker image (BENCH_NODE_FLAGS overrides, '' for none).
const NODE_FLAGS = (process.env.BENCH_NODE_FLAGS ?? '--max-semi-space-size=32').split(/\s+/).filter(Boolean);
const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
// Every PostgreSQL flowd gets a fresh schema of this run (dropped at the end): other users of the database stay apart.
const PG_SCHEMA = `flowd_bench_${process.pid}`;

const BODY = { name: 'bench', items: [1, 2, 3, 4, 5] };
const RAW_BODY = JSON.stringify(BODY);
const ENVELOPE = JSON.stringify({ input: BODY });
const JSON_HEADERS = { 'content-type': 'application/json' };
// A measured window in which other processes used more than this much CPU (% of one core) is measured again.
const NOISY_OTHER_PCT = 25;
const IDLE_BUSY_PCT = 20;
// BENCH_IDLE_WAIT_MS=0 skips the wait (smoke runs on a machine that is never quiet).
const IDLE_WAIT_MAX_MS = Number(process.env.BENCH_IDLE_WAIT_MS ?? 15_000);
const MINIMAL_HEADERS = { 'content-type': 'application/json', prefer: 'return=minimal' };

// ---------------------------------------------------------------------------------------------------------------
// Arguments

function parseArgs(argv) {
  const a = { quick: false, soak: null, only: null, noPeer: false, verbose: false, soakMinimal: false, profile: false };
  for (const arg of argv) {
    const [k, v] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    switch (k) {
      case '--quick':
        a.quick = true;
        break;
      case '--soak':
        a.soak = v ? Number(v.replaceAll('_', '')) : 1_000_000;
        break;
      case '--soak-minimal':
        a.soakMinimal = true;
        break;
      case '--only':
        a.only = String(v ?? '').split(',').map((s) => s.trim()).filter(Boolean);
        break;
      case '--duration':
        a.duration = Number(v);
        break;
      case '--warmup':
        a.warmup = Number(v);
        break;
      case '--connections':
        a.connections = Number(v);
        break;
      case '--rounds':
        a.rounds = Number(v);
        break;
      case '--out':
        a.out = v;
        break;
      case '--noisy-retries':
        a.noisyRetries = Number(v);
        break;
      case '--profile':
        a.profile = true;
        break;
      case '--before':
        a.before = v;
        break;
      case '--no-pg-count':
        a.noPgCount = true;
        break;
      case '--no-peer':
        a.noPeer = true;
        break;
      case '--verbose':
        a.verbose = true;
        break;
      case '--help':
      case '-h':
        process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 12).map((l) => l.replace(/^\/\/ ?/, '')).join('\n') + '\n');
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${arg} (try --help)`);
    }
  }
  if (a.noisyRetries != null && !(Number.isInteger(a.noisyRetries) && a.noisyRetries >= 0)) throw new Error('--noisy-retries needs an integer ≥ 0');
  for (const k of ['duration', 'warmup', 'connections', 'rounds', 'soak']) {
    if (a[k] != null && !(Number.isFinite(a[k]) && a[k] > 0) && !(k === 'warmup' && a[k] === 0)) throw new Error(`--${k} needs a positive number`);
  }
  return a;
}

// ---------------------------------------------------------------------------------------------------------------
// Scenarios, in the order they run within a round (comparable ones next to each other in time)

function flowdPair(base) {
  // Each flowd scenario twice: the default response (the execution record) and `Prefer: return=minimal` (flow output
  // only, the same body as the limit). The minimal one is measured only if the server honours the header.
  return [
    { ...base, variant: 'record', headers: JSON_HEADERS },
    {
      ...base,
      id: `${base.id}-min`,
      variant: 'minimal',
      headers: MINIMAL_HEADERS,
      what: `${base.what}, Prefer: return=minimal`,
      description: `${base.id} with the header \`Prefer: return=minimal\` (the response is only the flow output).`,
      fasterThan: base.fasterThan ? `${base.fasterThan}-min` : undefined,
    },
  ];
}

const SCENARIOS = [
  { id: 'limit-echo', group: 'limit', server: 'baselines', path: '/echo', body: RAW_BODY, headers: JSON_HEADERS, expectCalls: 0,
    what: '(a) bare Fastify, JSON work',
    description: '(a) Bare Fastify `POST /echo` computing `{ok, name, count, sum}` from the body, as Node-RED\'s function node does — the limit for pure flows.' },
  ...flowdPair({ id: 'flowd-transform3', group: 'flowd', server: 'flowd', path: '/flows/bench-transform3/execute', body: ENVELOPE, expectCalls: 0,
    family: 'transform3', limit: 'limit-echo', peer: 'nodered-echo', minOfLimit: 0.75,
    what: '(c) flowd 3-phase transform',
    description: '(c) flowd `bench-transform3`: the same JSON work in 3 `transform` phases (count, sum, shape) + the flow `output`.' }),
  { id: 'nodered-echo', group: 'nodered', server: 'nodered', path: '/echo', body: RAW_BODY, headers: JSON_HEADERS, expectCalls: 0, limit: 'limit-echo',
    what: '(d) Node-RED function flow',
    description: '(d) Node-RED 4.1 `POST /echo`: http in → function → http response (reference flows.json).' },

  { id: 'limit-call1', group: 'limit', server: 'baselines', path: '/call1', body: RAW_BODY, headers: JSON_HEADERS, expectCalls: 1,
    what: '(b) Fastify + 1 undici call',
    description: '(b) Fastify `POST /call1`: one call to the upstream through a pooled keep-alive undici `Pool`, answering its JSON.' },
  ...flowdPair({ id: 'flowd-call1', group: 'flowd', server: 'flowd', path: '/flows/bench-call1/execute', body: ENVELOPE, expectCalls: 1,
    family: 'call1', limit: 'limit-call1', peer: 'nodered-flow1', minOfLimit: 0.9,
    what: '(c) flowd 1 http call',
    description: '(c) flowd `bench-call1`: one `http` phase to the upstream.' }),
  { id: 'nodered-flow1', group: 'nodered', server: 'nodered', path: '/flow1', body: RAW_BODY, headers: JSON_HEADERS, expectCalls: 1, limit: 'limit-call1',
    what: '(d) Node-RED 1 call',
    description: '(d) Node-RED `POST /flow1`: http in → http request (keep-alive) → http response.' },

  { id: 'limit-call3', group: 'limit', server: 'baselines', path: '/call3', body: RAW_BODY, headers: JSON_HEADERS, expectCalls: 3,
    what: '(b) Fastify + 3 sequential calls',
    description: '(b) Fastify `POST /call3`: 3 sequential upstream calls, each sending the previous answer.' },
  ...flowdPair({ id: 'flowd-call3', group: 'flowd', server: 'flowd', path: '/flows/bench-call3/execute', body: ENVELOPE, expectCalls: 3,
    family: 'call3', limit: 'limit-call3', peer: 'nodered-flow3', minOfLimit: 0.9,
    what: '(c) flowd 3 sequential calls',
    description: '(c) flowd `bench-call3`: 3 sequential `http` phases, each sending the previous output.' }),
  { id: 'nodered-flow3', group: 'nodered', server: 'nodered', path: '/flow3', body: RAW_BODY, headers: JSON_HEADERS, expectCalls: 3, limit: 'limit-call3',
    what: '(d) Node-RED 3 calls',
    description: '(d) Node-RED `POST /flow3`: three chained http request nodes.' },

  { id: 'limit-fanout5', group: 'limit', server: 'baselines', path: '/fanout5', body: RAW_BODY, headers: JSON_HEADERS, expectCalls: 5,
    what: '(b) Fastify + 5 parallel calls',
    description: '(b) Fastify `POST /fanout5`: 5 upstream calls with `Promise.all`, answering `{a…e}`.' },
  ...flowdPair({ id: 'flowd-fanout5', group: 'flowd', server: 'flowd', path: '/flows/bench-fanout5/execute', body: ENVELOPE, expectCalls: 5,
    family: 'fanout5', limit: 'limit-fanout5',
    what: '(c) flowd parallel fan-out of 5',
    description: '(c) flowd `bench-fanout5`: a `parallel` phase of 5 branches, one `http` call each.' }),

  { id: 'limit-cached1', group: 'limit', server: 'baselines', path: '/cached1', body: RAW_BODY, headers: JSON_HEADERS, expectCalls: 0, cached: true,
    what: '(b) Fastify + in-process cache',
    description: '(b) Fastify `POST /cached1`: `/call1` behind a `Map` keyed by `name` with a 60 s TTL (every request after the first is a hit).' },
  ...flowdPair({ id: 'flowd-call1-cached', group: 'flowd', server: 'flowd', path: '/flows/bench-call1-cached/execute', body: ENVELOPE, expectCalls: 0, cached: true,
    family: 'call1-cached', limit: 'limit-cached1', fasterThan: 'flowd-call1',
    what: '(c) flowd 1 call, phase cached',
    description: '(c) flowd `bench-call1-cached`: `bench-call1` with `cache: { ttl_ms: 60000, key: input.name }` on its phase — compared with the uncached `flowd-call1`.' }),

  { id: 'flowd-sqlite-transform3', group: 'persistence', server: 'flowd-sqlite', path: '/flows/bench-transform3/execute', body: ENVELOPE, headers: JSON_HEADERS, expectCalls: 0,
    limit: 'limit-echo', compare: 'flowd-transform3', store: 'SQLite', minOfCompare: 0.8,
    what: '(e) flowd 3-phase transform, SQLite, PERSISTENCE=all',
    description: '(e) `bench-transform3` on a flowd started with `STORE=sqlite DATA_DIR=<tmp> PERSISTENCE=all`.' },
  { id: 'flowd-postgres-transform3', group: 'persistence', server: 'flowd-postgres', path: '/flows/bench-transform3/execute', body: ENVELOPE, headers: JSON_HEADERS, expectCalls: 0,
    limit: 'limit-echo', compare: 'flowd-transform3', store: 'PostgreSQL', minOfCompare: 0.5, pg: true,
    what: '(e) flowd 3-phase transform, PostgreSQL, PERSISTENCE=all',
    description: '(e) `bench-transform3` on a flowd started with `STORE=postgres DATABASE_URL=… PERSISTENCE=all` (needs PostgreSQL on 127.0.0.1:5432).' },
  { id: 'flowd-postgres-x2-transform3', group: 'replicas', server: 'flowd-postgres-x2', path: '/flows/bench-transform3/execute', body: ENVELOPE, headers: JSON_HEADERS, expectCalls: 0,
    limit: 'limit-echo', compare: 'flowd-postgres-transform3', pg: true,
    what: '(f) two flowd replicas on one PostgreSQL, PERSISTENCE=all',
    description: '(f) `bench-transform3` on two flowd processes sharing one PostgreSQL schema (`STORE=postgres PERSISTENCE=all`), each pinned to its own core with `taskset` when available; the connections are split evenly across them and the figures are the aggregate (req/s summed, latencies merged, CPU summed) — compared with one replica (`flowd-postgres-transform3`).' },
];

function selectScenarios(only) {
  if (!only) return SCENARIOS;
  const matchers = only.map((tok) => {
    if (tok.includes('*')) {
      const re = new RegExp(`^${tok.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
      return (sc) => re.test(sc.id);
    }
    return (sc) => sc.id === tok || sc.group === tok;
  });
  const picked = SCENARIOS.filter((sc) => matchers.some((m) => m(sc)));
  // A 'replicas' run compares with one replica: measure that too.
  if (picked.some((sc) => sc.group === 'replicas') && !picked.some((sc) => sc.id === 'flowd-postgres-transform3'))
    picked.splice(picked.findIndex((sc) => sc.group === 'replicas'), 0, SCENARIOS.find((sc) => sc.id === 'flowd-postgres-transform3'));
  const unknown = only.filter((tok) => !SCENARIOS.some((sc) => matchers[only.indexOf(tok)](sc)));
  if (unknown.length) throw new Error(`--only: no scenario matches ${unknown.join(', ')}; ids: ${SCENARIOS.map((s) => s.id).join(', ')}; groups: limit, flowd, nodered, persistence, replicas`);
  return picked;
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

const log = (msg) => process.stderr.write(`[bench] ${msg}\n`);

function versionOf(pkgDir) {
  try {
    return JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

function machineInfo() {
  let cpuModel = 'unknown';
  try {
    cpuModel = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpuModel;
  } catch {
    /* not Linux */
  }
  let commit = null;
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_DIR, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    /* not a git checkout */
  }
  return {
    date: new Date().toISOString(),
    cpuModel,
    cores: os.availableParallelism?.() ?? os.cpus().length,
    memGb: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    loadAvgStart: os.loadavg().map((x) => x.toFixed(2)).join(' '),
    node: process.version,
    autocannon: versionOf(path.join(REPO_DIR, 'node_modules', 'autocannon')),
    fastify: versionOf(path.join(REPO_DIR, 'node_modules', 'fastify')),
    undici: versionOf(path.join(REPO_DIR, 'node_modules', 'undici')),
    commit,
  };
}

async function upstreamCount(port) {
  try {
    const r = await httpCall(`http://127.0.0.1:${port}/stats`, { timeoutMs: 2000 });
    return r.json?.requests ?? null;
  } catch {
    return null;
  }
}

/** flowd's flows dir: bench/flows as is when the upstream is on 3001, else a copy pointing at the real port. */
function flowsDirFor(upstreamPort, tmpRoot) {
  const src = path.join(BENCH_DIR, 'flows');
  if (upstreamPort === 3001) return path.relative(REPO_DIR, src) || src;
  const dir = path.join(tmpRoot, 'flows');
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(src)) {
    const text = readFileSync(path.join(src, f), 'utf8').replaceAll('http://127.0.0.1:3001', `http://127.0.0.1:${upstreamPort}`);
    writeFileSync(path.join(dir, f), text);
  }
  return dir;
}

async function startFlowd(name, { flowsDir, extraEnv, lifetimeMs, serverJs = SERVER_JS, core = null }) {
  if (!existsSync(serverJs)) return { ok: false, reason: `${path.relative(REPO_DIR, serverJs)} is missing (run \`npm run build\`)` };
  const port = await freePort();
  const metricsPort = await freePort();
  const env = {
    NODE_ENV: 'production',
    FLOWS_DIR: flowsDir,
    PORT: String(port),
    METRICS_PORT: String(metricsPort),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    STORE: 'memory',
    AUTH_DISABLED: 'true',
    // A benchmark is one client hammering one instance: per-client rate limiting would answer 429.
    RATE_LIMIT_PER_MINUTE: '0',
    EGRESS_ALLOW: '127.0.0.1,localhost',
    BENCH_MAX_LIFETIME_MS: String(lifetimeMs),
    ...extraEnv,
  };
  const profileDir = args.profile ? path.join(outDir, 'profiles', name) : null;
  if (profileDir) {
    rmSync(profileDir, { recursive: true, force: true });
    mkdirSync(profileDir, { recursive: true });
  }
  const nodeFlags = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const nodeArgs = [...NODE_FLAGS, ...nodeFlags, '--import', GUARD_URL, serverJs];
  // Pinned to one core with taskset (which execs node: the pid stays the same) when asked and available.
  const pinned = core != null && HAS_TASKSET;
  const proc = pinned
    ? startProcess(name, 'taskset', ['-c', String(core), process.execPath, ...nodeArgs], { env, cwd: REPO_DIR })
    : startProcess(name, process.execPath, nodeArgs, { env, cwd: REPO_DIR });
  proc.pinnedCore = pinned ? core : null;
  const spawnedAt = performance.now();
  proc.profileDir = profileDir;
  const ready = await waitReady(
    proc,
    async () => (await httpCall(`http://127.0.0.1:${port}/health/ready`, { timeoutMs: 2000 })).status === 200,
    { timeoutMs: 30_000, intervalMs: 150 },
  );
  if (!ready.ok) return { ok: false, proc, reason: ready.reason };
  proc.readyAfterMs = performance.now() - spawnedAt; // --profile leaves this start-up out of the summary
  return { ok: true, proc, port, metricsPort, env };
}

/** The comparable "output" of a probe: the body, or for a flowd execution record its `output`. */
function outputOf(sc, probe) {
  if (!probe?.json) return undefined;
  if (sc.server.startsWith('flowd') && sc.variant !== 'minimal' && probe.json && typeof probe.json === 'object' && 'executionId' in probe.json)
    return probe.json.output;
  return probe.json;
}

// ---------------------------------------------------------------------------------------------------------------
// Main

function usageError(err) {
  process.stderr.write(`bench: ${err.message}\n`);
  process.exit(2);
}
let args;
try {
  args = parseArgs(process.argv.slice(2));
} catch (err) {
  usageError(err);
}
if (args.verbose) process.env.BENCH_VERBOSE = '1';
const config = {
  quick: args.quick,
  connections: args.connections ?? 50,
  durationSec: args.duration ?? (args.quick ? 3 : 10),
  warmupSec: args.warmup ?? (args.quick ? 2 : 3),
  rounds: args.rounds ?? (args.quick ? 1 : 3),
  noisyRetries: args.noisyRetries ?? 1,
  body: RAW_BODY,
};
const outDir = path.resolve(args.out ?? path.join(BENCH_DIR, 'results'));
const BEFORE_DIST = args.before ?? process.env.FLOWD_BEFORE_DIST ?? null;
const BEFORE_SERVER_JS = BEFORE_DIST ? path.resolve(BEFORE_DIST, 'src', 'server.js') : null;
const HAS_TASKSET = (() => {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const pgSchemas = new Set(); // dropped at the end
let selected = [];
try {
  if (!args.soak) selected = selectScenarios(args.only);
  // --before: each flowd scenario's twin on the other build, right after it (so both are measured close in time).
  if (BEFORE_SERVER_JS) {
    if (!existsSync(BEFORE_SERVER_JS)) throw new Error(`--before / FLOWD_BEFORE_DIST: ${BEFORE_SERVER_JS} does not exist (build that checkout first)`);
    selected = selected.flatMap((sc) =>
      sc.server.startsWith('flowd')
        ? [sc, { ...sc, id: `${sc.id}@before`, server: `${sc.server}@before`, group: 'before', beforeOf: sc.id, family: undefined, peer: undefined, fasterThan: undefined, compare: undefined, minOfCompare: undefined, what: `${sc.what} — before`, description: `${sc.id} on the build in ${BEFORE_DIST}.` }]
        : [sc],
    );
  }
} catch (err) {
  usageError(err);
}

// A hard bound on the whole run: every scenario's windows plus start-up and slack; children get the same bound.
const perScenarioSec = (config.warmupSec + config.durationSec + 3) * (1 + config.noisyRetries) + IDLE_WAIT_MAX_MS / 1000;
const budgetMs = args.soak
  ? ((args.soak / 300) + 600) * 1000
  : (selected.length * config.rounds * perScenarioSec + 900) * 1000;
const lifetimeMs = budgetMs + 60_000;
process.env.BENCH_MAX_LIFETIME_MS = String(lifetimeMs);
const watchdog = setTimeout(() => {
  log(`watchdog: the run exceeded ${Math.round(budgetMs / 1000)} s — stopping everything`);
  killAllSync();
  process.exit(3);
}, budgetMs);
watchdog.unref();

process.on('exit', killAllSync);
// First SIGINT/SIGTERM: finish the current window, skip the rest and still write the report of what was measured.
// A second one stops everything at once.
let aborted = null;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    if (aborted || args.soak) {
      log(`${sig}: stopping servers`);
      stopAll().then(dropSchemas).finally(() => process.exit(130));
      return;
    }
    aborted = sig;
    log(`${sig}: finishing the current window, then writing the report of what was measured (send again to stop now)`);
  });
}

const tmpRoot = mkdtempSync(path.join(os.tmpdir(), 'flowd-bench-'));
const meta = machineInfo();
const notes = [];
const servers = {}; // name → { ok, proc, port, reason }
const results = {}; // scenario id → { status, reason, probe, rounds, summary, outputCheck }

try {
  // Upstream first: everything else calls it. Port 3001 (the Node-RED flows' URL) unless taken.
  let upstreamPort = 3001;
  if (await isListening(3001)) {
    upstreamPort = await freePort();
    notes.push(`Port 3001 was taken: the upstream ran on ${upstreamPort} and the flows (flowd and Node-RED) were rewritten to it in a temporary copy.`);
  }
  const upstream = startProcess('upstream', process.execPath, [path.join(BENCH_DIR, 'upstream.mjs'), String(upstreamPort)], {
    env: { BENCH_MAX_LIFETIME_MS: String(lifetimeMs) },
  });
  const upReady = await waitReady(upstream, async () => (await httpCall(`http://127.0.0.1:${upstreamPort}/health`)).status === 200, { timeoutMs: 10_000 });
  if (!upReady.ok) throw new Error(`the upstream did not start: ${upReady.reason}`);
  log(`upstream on 127.0.0.1:${upstreamPort} (pid ${upstream.pid})`);
  const flowsDir = flowsDirFor(upstreamPort, tmpRoot);

  if (args.soak) {
    await soak({ upstreamPort, upstream, flowsDir });
  } else {
    await benchmark({ upstreamPort, upstream, flowsDir });
  }
} catch (err) {
  log(`failed: ${err?.stack ?? err}`);
  process.exitCode = 1;
} finally {
  await stopAll();
  await dropSchemas();
  if (args.profile) writeProfiles();
  try {
    rmSync(tmpRoot, { recursive: true, force: true });
  } catch {
    /* best effort */
  }
}
// undici's global pool and autocannon can keep sockets around for a while; the work is done.
process.exit(process.exitCode ?? 0);

// ---------------------------------------------------------------------------------------------------------------

async function dropSchemas() {
  for (const schema of pgSchemas) await dropSchema(PG_URL, schema).catch((err) => log(`could not drop schema ${schema}: ${err.message}`));
  pgSchemas.clear();
}

async function startServers(needed, { upstreamPort, flowsDir }) {
  if (needed.has('baselines')) {
    const port = await freePort();
    const proc = startProcess('baselines', process.execPath, [path.join(BENCH_DIR, 'baselines.mjs'), String(port)], {
      env: { UPSTREAM_URL: `http://127.0.0.1:${upstreamPort}`, BENCH_MAX_LIFETIME_MS: String(lifetimeMs), NODE_ENV: 'production' },
    });
    const ready = await waitReady(proc, async () => (await httpCall(`http://127.0.0.1:${port}/health`)).status === 200, { timeoutMs: 15_000 });
    servers.baselines = ready.ok ? { ok: true, proc, port } : { ok: false, proc, reason: ready.reason };
    log(ready.ok ? `baselines on 127.0.0.1:${port} (pid ${proc.pid})` : `baselines unavailable: ${ready.reason}`);
  }
  for (const name of [...needed].filter((n) => n.startsWith('flowd'))) {
    servers[name] = await startFlowdServer(name, { flowsDir });
    const srv = servers[name];
    log(srv.ok ? `${name} on ${srv.replicas.map((r) => `127.0.0.1:${r.port} (pid ${r.proc.pid}${r.proc.pinnedCore != null ? `, core ${r.proc.pinnedCore}` : ''})`).join(', ')}` : `${name} unavailable: ${srv.reason}`);
    // The build under test, named by whichever of its servers starts first (a --only=persistence run has no in-memory one).
    if (srv.ok && !name.endsWith('@before') && meta.flowd === undefined) meta.flowd = `${versionOf(REPO_DIR) ?? '?'}${meta.commit ? ` @ ${meta.commit}` : ''}`;
  }
  if (needed.has('nodered')) {
    if (args.noPeer) {
      servers.nodered = { ok: false, reason: 'skipped (--no-peer)' };
    } else {
      const installed = await ensureNodeRed(BENCH_DIR, { log });
      if (!installed.ok) {
        servers.nodered = { ok: false, reason: `Node-RED unavailable: ${installed.reason}` };
      } else {
        meta.nodeRed = installed.version;
        const port = await freePort();
        const userDir = path.join(tmpRoot, 'node-red');
        mkdirSync(userDir, { recursive: true });
        const started = await startNodeRed({
          benchDir: BENCH_DIR,
          redJs: installed.redJs,
          port,
          upstreamPort,
          tmpDir: userDir,
          body: RAW_BODY,
          env: { BENCH_MAX_LIFETIME_MS: String(lifetimeMs) },
        });
        servers.nodered = started.ok ? { ok: true, proc: started.proc, port } : { ok: false, proc: started.proc, reason: started.reason };
      }
    }
    log(servers.nodered.ok ? `Node-RED ${meta.nodeRed} on 127.0.0.1:${servers.nodered.port} (pid ${servers.nodered.proc.pid})` : `Node-RED unavailable: ${servers.nodered.reason}`);
  }
}

/**
 * A flowd server of the run by name: `flowd` (memory), `flowd-sqlite`, `flowd-postgres`, `flowd-postgres-x2` (two
 * replicas on one schema, one core each), each optionally `@before` (the build of --before / FLOWD_BEFORE_DIST).
 * Returns { ok, proc, port, replicas: [{ proc, port }], reason }.
 */
async function startFlowdServer(name, { flowsDir }) {
  const before = name.endsWith('@before');
  const kind = name.replace(/@before$/, '');
  const serverJs = before ? BEFORE_SERVER_JS : SERVER_JS;
  const tag = before ? 'b' : 'a';
  let extraEnv = {};
  let replicas = 1;
  if (kind === 'flowd-sqlite') {
    const dataDir = path.join(tmpRoot, `sqlite-${tag}`);
    mkdirSync(dataDir, { recursive: true });
    extraEnv = { STORE: 'sqlite', DATA_DIR: dataDir, PERSISTENCE: 'all' };
  } else if (kind.startsWith('flowd-postgres')) {
    const pg = new URL(PG_URL);
    if (!(await isListening(Number(pg.port || 5432), pg.hostname))) return { ok: false, reason: `no PostgreSQL listening on ${pg.hostname}:${pg.port || 5432} (set BENCH_DATABASE_URL)` };
    const schema = `${PG_SCHEMA}_${tag}${kind === 'flowd-postgres-x2' ? '2' : '1'}`;
    pgSchemas.add(schema);
    extraEnv = { STORE: 'postgres', DATABASE_URL: PG_URL, DATABASE_SCHEMA: schema, PERSISTENCE: 'all' };
    if (kind === 'flowd-postgres-x2') replicas = 2;
  } else if (kind !== 'flowd') {
    return { ok: false, reason: `unknown server ${name}` };
  }
  const started = [];
  for (let i = 0; i < replicas; i++) {
    // Replicas one after another: the first one migrates the schema, the second finds it ready.
    const r = await startFlowd(replicas > 1 ? `${name}#${i + 1}` : name, { flowsDir, extraEnv, lifetimeMs, serverJs, core: replicas > 1 ? i % meta.cores : null });
    if (!r.ok) return { ok: false, proc: r.proc, reason: r.reason };
    started.push({ proc: r.proc, port: r.port });
  }
  return { ok: true, proc: started[0].proc, port: started[0].port, replicas: started, schema: extraEnv.DATABASE_SCHEMA ?? null };
}

async function probe(sc) {
  const srv = servers[sc.server];
  try {
    const r = await httpCall(`http://127.0.0.1:${srv.port}${sc.path}`, { method: 'POST', headers: sc.headers, body: sc.body, timeoutMs: 10_000 });
    return { status: r.status, bytes: r.bytes, text: r.text.slice(0, 4000), json: r.json, contentType: r.headers['content-type'] ?? null };
  } catch (err) {
    return { error: err?.cause?.code ?? err?.code ?? err?.message ?? String(err) };
  }
}

async function benchmark({ upstreamPort, upstream, flowsDir }) {
  const needed = new Set(selected.map((sc) => sc.server));
  await startServers(needed, { upstreamPort, flowsDir });

  // Probe every scenario once: availability, one response, equivalence of outputs, Prefer support.
  const runnable = [];
  for (const sc of selected) {
    const srv = servers[sc.server];
    if (!srv?.ok) {
      results[sc.id] = { status: 'unavailable', reason: srv?.reason ?? 'server not started' };
      continue;
    }
    const p = await probe(sc);
    if (p.error) {
      results[sc.id] = { status: 'unavailable', reason: `probe failed: ${p.error}`, probe: p };
      continue;
    }
    if (sc.variant === 'minimal' && p.status === 200 && p.json && typeof p.json === 'object' && 'executionId' in p.json) {
      results[sc.id] = { status: 'unsupported', reason: 'server ignores `Prefer: return=minimal` (the body still has executionId)', probe: p };
      continue;
    }
    results[sc.id] = { status: 'ok', probe: p, rounds: [] };
    if (p.status !== 200) notes.push(`${sc.id}: the probe answered ${p.status}: ${p.text.slice(0, 300).replace(/\s+/g, ' ')}`);
    runnable.push(sc);
  }
  // Equivalence: each flowd / Node-RED scenario's output against its limit's answer.
  for (const sc of runnable) {
    if (!sc.limit || results[sc.limit]?.status !== 'ok') continue;
    const mine = outputOf(sc, results[sc.id].probe);
    const ref = outputOf(SCENARIOS.find((x) => x.id === sc.limit), results[sc.limit].probe);
    results[sc.id].outputCheck = isDeepStrictEqual(mine, ref)
      ? { ok: true }
      : { ok: false, detail: `${JSON.stringify(mine)?.slice(0, 120)} vs limit ${JSON.stringify(ref)?.slice(0, 120)}` };
  }

  log(`${runnable.length} scenario(s) × ${config.rounds} round(s), ${config.warmupSec}+${config.durationSec} s each, ${config.connections} connections`);
  for (let round = 1; round <= config.rounds && !aborted; round++) {
    for (const sc of runnable) {
      if (aborted) break;
      const res = results[sc.id];
      if (res.status !== 'ok') continue;
      const srv = servers[sc.server];
      const dead = (srv.replicas ?? [srv]).find((x) => !x.proc.isAlive());
      if (dead) {
        res.status = 'unavailable';
        res.reason = `${dead.proc.name} died (${JSON.stringify(dead.proc.exitInfo())}): ${dead.proc.tail()}`;
        continue;
      }
      let r = null;
      for (let attempt = 0; attempt <= config.noisyRetries; attempt++) {
        const idle = await waitMachineIdle();
        const m = await measure(sc, srv, { upstreamPort, upstream, round });
        m.attempt = attempt + 1;
        m.idleWaitSec = idle.waitedSec;
        if (!r || (m.otherCpuPct ?? 0) < (r.otherCpuPct ?? 0)) r = m;
        const bad = m.non2xx + m.errors + m.timeouts;
        log(
          `r${round} ${sc.id.padEnd(28)} ${String(Math.round(m.rps)).padStart(6)} req/s  p50 ${m.p50?.toFixed(2) ?? '—'}  p95 ${m.p95?.toFixed(2) ?? '—'}  p99 ${m.p99?.toFixed(2) ?? '—'} ms  cpu ${m.cpuPct?.toFixed(0) ?? '—'}%  rss ${m.peakRssMb?.toFixed(0) ?? '—'} MB  calls/req ${m.upstreamCallsPerReq?.toFixed(2) ?? '—'}  other ${m.otherCpuPct?.toFixed(0) ?? '—'}%${bad ? `  ⚠ ${m.non2xx} non-2xx ${m.errors} errors ${JSON.stringify(m.statusCodes)}` : ''}`,
        );
        if ((m.otherCpuPct ?? 0) <= NOISY_OTHER_PCT || aborted) break;
        if (attempt < config.noisyRetries) log(`   other processes took ${m.otherCpuPct.toFixed(0)}% CPU during that window — measuring again`);
      }
      res.rounds.push(r);
      await sleep(200);
    }
  }

  for (const sc of selected) {
    const res = results[sc.id];
    if (res?.rounds?.length) res.summary = summarize(res.rounds);
    if (res?.status === 'ok' && !res.rounds.length) {
      res.status = aborted ? 'not measured' : 'unavailable';
      res.reason = aborted ? `run stopped by ${aborted}` : (res.reason ?? 'no round completed');
    }
  }
  const targets = evaluateTargets(selected, results);
  // PostgreSQL counting pass: per durable execution, what reaches the database (after the measured rounds, so its
  // extra flowd and the wire counter cost nothing in them).
  const pgCounts = [];
  if (!args.noPgCount && !aborted) {
    for (const sc of selected.filter((x) => x.server.startsWith('flowd-postgres') && !x.server.includes('-x2') && results[x.id]?.status === 'ok')) {
      const before = sc.server.endsWith('@before');
      pgCounts.push(...(await pgCountPass({ flowsDir, serverJs: before ? BEFORE_SERVER_JS : SERVER_JS, build: before ? `before (${BEFORE_DIST})` : `this build${meta.commit ? ` (${meta.commit})` : ''}`, tag: before ? 'b' : 'a', path: sc.path, body: sc.body })));
    }
  }
  if (BEFORE_DIST) meta.before = BEFORE_DIST;
  if (args.profile) notes.unshift('⚠ flowd ran with --cpu-prof (--profile): its figures include the profiler overhead.');
  if (aborted) notes.unshift(`⚠ The run was stopped by ${aborted}: only the windows completed before it are reported.`);

  // Notes for the reader.
  const rec = results['flowd-transform3']?.probe;
  const min = results['flowd-transform3-min'];
  if (rec?.bytes) {
    notes.push(
      `Fairness: by default flowd answers with the execution record (\`{executionId, status, output, phases, …}\`, ${rec.bytes} bytes for bench-transform3) where the limits and Node-RED answer only the JSON (${results['limit-echo']?.probe?.bytes ?? '~50'} bytes). ` +
        (min?.status === 'ok'
          ? 'The `-min` rows send `Prefer: return=minimal` and get only the flow output — the like-for-like comparison.'
          : min?.status === 'unsupported'
            ? 'The server does not honour `Prefer: return=minimal` yet, so the `-min` rows were not measured.'
            : ''),
    );
  }
  for (const sc of selected) {
    const res = results[sc.id];
    if (res?.status === 'ok' && sc.compare && results[sc.compare]?.summary) {
      notes.push(`${sc.id}: ${(res.summary.rps / results[sc.compare].summary.rps * 100).toFixed(0)}% of ${sc.compare}'s req/s, p99 ${res.summary.p99?.toFixed(2)} ms vs ${results[sc.compare].summary.p99?.toFixed(2)} ms.`);
    }
  }
  const lgen = selected.map((sc) => results[sc.id]?.summary?.loadgenCpuPct).filter((x) => x != null);
  if (lgen.length)
    notes.push(`The load generator (autocannon, in the harness process) used ${Math.min(...lgen).toFixed(0)}–${Math.max(...lgen).toFixed(0)}% of a core; on ${meta.cores} cores it competes with the server and the upstream, as in the issue's reference figures.`);
  notes.push(`Load average at the end: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} (other work on the machine skews the figures; compare rows of one run, not runs of different days).`);

  const report = { meta, config, scenarios: selected.map(({ body, headers, ...sc }) => ({ ...sc, headers })), results: stripProbes(results), targets, pgCounts, notes };
  let soak = null;
  try {
    soak = JSON.parse(readFileSync(path.join(outDir, 'soak.json'), 'utf8'));
  } catch {
    /* no soak yet */
  }
  const md = renderMarkdown({ meta, config, scenarios: selected, results, targets, notes, pgCounts, soak });
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, 'latest.json'), JSON.stringify(report, null, 2) + '\n');
  writeFileSync(path.join(outDir, 'latest.md'), md + '\n');
  process.stdout.write(md + '\n');
  log(`wrote ${path.relative(process.cwd(), path.join(outDir, 'latest.md'))} and latest.json`);
}

/** One warm-up + measured window of a scenario, with CPU/RSS sampling and the upstream call count. */
async function measure(sc, srv, { upstreamPort, upstream, round }) {
  // Several replicas: the connections split evenly, one load per replica at the same time, figures aggregated.
  const reps = srv.replicas ?? [{ proc: srv.proc, port: srv.port }];
  const loads = reps.map((x, i) => ({
    url: `http://127.0.0.1:${x.port}${sc.path}`,
    method: 'POST',
    headers: sc.headers,
    body: sc.body,
    connections: Math.max(1, Math.floor(config.connections / reps.length) + (i < config.connections % reps.length ? 1 : 0)),
  }));
  // The other servers sleep through this window (SIGSTOP): idle, they still take CPU (timers, durable pollers, GC).
  const resume = pauseAllBut(new Set([...reps.map((x) => x.proc.pid), upstream.pid]));
  try {
    return await measureWindow(sc, reps, loads, { upstreamPort, upstream, round });
  } finally {
    resume();
  }
}

async function measureWindow(sc, reps, loads, { upstreamPort, upstream, round }) {
  if (config.warmupSec > 0) await Promise.all(loads.map((l) => runLoad({ ...l, durationSec: config.warmupSec, collectLatencies: false })));
  await sleep(150); // let the warm-up's in-flight requests finish their upstream calls
  const calls0 = await upstreamCount(upstreamPort);
  const pids = reps.map((x) => x.proc.pid);
  const smp = sampler([...pids, upstream.pid]);
  const pg0 = sc.pg ? postgresCpuTicks() : null;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  smp.start();
  const m = mergeLoads(await Promise.all(loads.map((l) => runLoad({ ...l, durationSec: config.durationSec }))));
  const sampled = smp.stop();
  const wallUs = (performance.now() - t0) * 1000;
  const pg1 = sc.pg ? postgresCpuTicks() : null;
  const cpu = process.cpuUsage(cpu0);
  await sleep(150); // requests still in flight when the window closed make their upstream calls too
  const calls1 = await upstreamCount(upstreamPort);
  const sum = (f) => (pids.every((pid) => sampled[pid]?.[f] != null) ? pids.reduce((a, pid) => a + sampled[pid][f], 0) : null);
  const r = {
    round,
    ...m,
    cpuPct: sum('cpuPct'),
    peakRssMb: sum('peakRssMb'),
    hwmMb: sum('hwmMb'),
    replicas: pids.length,
    upstreamCpuPct: sampled[upstream.pid]?.cpuPct ?? null,
    loadgenCpuPct: ((cpu.user + cpu.system) / wallUs) * 100,
    machineCpuPct: sampled.machineCpuPct,
    upstreamCallsPerReq: calls0 != null && calls1 != null && m.sent > 0 ? (calls1 - calls0) / m.sent : null,
  };
  const pgTicks = postgresCpuDelta(pg0, pg1);
  if (pgTicks != null) {
    r.pgCpuPct = (pgTicks / CLK_TCK / (wallUs / 1e6)) * 100;
    r.pgCpuUsPerReq = m.rps > 0 ? (r.pgCpuPct / 100 / m.rps) * 1e6 : null;
  }
  // Server CPU time per 2xx response (µs): robust to other load on the machine, unlike req/s.
  r.cpuUsPerReq = r.cpuPct != null && m.rps > 0 ? (r.cpuPct / 100 / m.rps) * 1e6 : null;
  // CPU used on the machine by anything but the server, the upstream and the load generator (other work skews results).
  r.otherCpuPct = r.machineCpuPct != null ? Math.max(0, r.machineCpuPct - (r.cpuPct ?? 0) - (r.upstreamCpuPct ?? 0) - r.loadgenCpuPct - (r.pgCpuPct ?? 0)) : null;
  return r;
}

/**
 * Counts what reaches PostgreSQL per durable execution: a separate flowd (its own schema) behind a wire counter runs
 * the scenario's request `sequential` (1 connection) and then `concurrent` (the run's connections) times; statements,
 * round trips and transactions come from the wire, inserted / updated rows from pg_stat_user_tables of the schema.
 */
async function pgCountPass({ flowsDir, serverJs, build, tag, path: urlPath, body }) {
  const target = new URL(PG_URL);
  const counter = await new PgWireCounter({ host: target.hostname, port: Number(target.port || 5432) }).start();
  const viaCounter = new URL(PG_URL);
  viaCounter.hostname = '127.0.0.1';
  viaCounter.port = String(counter.port);
  const schema = `${PG_SCHEMA}_${tag}c`;
  pgSchemas.add(schema);
  const out = [];
  let srv = null;
  let client = null;
  try {
    srv = await startFlowd(`pg-count-${tag}`, { flowsDir, serverJs, lifetimeMs, extraEnv: { STORE: 'postgres', DATABASE_URL: viaCounter.href, DATABASE_SCHEMA: schema, PERSISTENCE: 'all' } });
    if (!srv.ok) return [{ build, load: '—', error: `flowd did not start: ${shortText(srv.reason)}` }];
    client = await connectPg(PG_URL);
    const url = `http://127.0.0.1:${srv.port}${urlPath}`;
    const loads = [
      { load: 'sequential', connections: 1, amount: config.quick ? 300 : 500 },
      { load: `concurrent (${config.connections} connections)`, connections: config.connections, amount: config.quick ? 2000 : 10_000 },
    ];
    let stats0 = await settledStats(client, schema);
    for (const l of loads) {
      log(`pg count (${build}): ${l.amount} executions, ${l.load}`);
      counter.reset();
      const m = await runLoad({ url, method: 'POST', headers: JSON_HEADERS, body, connections: l.connections, amount: l.amount, collectLatencies: false });
      await sleep(300);
      const wire = { ...counter.counts };
      const stats1 = await settledStats(client, schema);
      out.push({ build, load: l.load, executions: m.ok2xx, failed: m.responses - m.ok2xx, ...wire, inserted: stats1.inserted - stats0.inserted, updated: stats1.updated - stats0.updated, commitsDatabaseWide: stats1.commits - stats0.commits });
      stats0 = stats1;
    }
  } catch (err) {
    out.push({ build, load: '—', error: shortText(err?.message ?? String(err)) });
  } finally {
    await client?.end().catch(() => {});
    if (srv?.proc) await stopProcess(srv.proc);
    await counter.stop();
  }
  return out;
}

function shortText(t) {
  const s = String(t).replace(/\s+/g, ' ');
  return s.length > 200 ? `${s.slice(0, 197)}…` : s;
}

/**
 * Waits (at most IDLE_WAIT_MAX_MS) until the machine is quiet — under IDLE_BUSY_PCT of one core busy over half a
 * second, while our own servers are idle between windows — so another process's burst does not land in a window.
 */
async function waitMachineIdle() {
  const t0 = performance.now();
  while (performance.now() - t0 < IDLE_WAIT_MAX_MS) {
    const a = readMachineBusyTicks();
    const ta = performance.now();
    await sleep(500);
    const b = readMachineBusyTicks();
    if (a == null || b == null) break;
    const busyPct = ((b - a) / CLK_TCK / ((performance.now() - ta) / 1000)) * 100;
    if (busyPct < IDLE_BUSY_PCT) break;
  }
  return { waitedSec: (performance.now() - t0) / 1000 };
}

/** After the servers stopped: summarize each flowd instance's .cpuprofile into <out>/profile.md. */
function writeProfiles() {
  const parts = [`# flowd CPU profiles — ${meta.date}`, '', `Scenarios: ${selected.map((sc) => sc.id).join(', ') || 'soak'}. Each profile covers the whole life of that flowd process (start-up, probes, warm-ups, windows). Self time: time in the function itself, not its callees.`, ''];
  for (const [name, srv] of Object.entries(servers)) {
    const dir = srv?.proc?.profileDir;
    if (!dir) continue;
    const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')) : [];
    if (!files.length) {
      parts.push(`## ${name}`, '', `no .cpuprofile in ${dir} (the process did not exit normally?)`, '');
      continue;
    }
    for (const f of files) {
      const summary = summarizeProfile(path.join(dir, f), REPO_DIR, 30, { skipMs: srv.proc.readyAfterMs ?? 0 });
      // Worker threads (log transport, …) that stayed idle: one line, not a table.
      if (summary.busyMs < 20) parts.push(`(${f}: a thread with ${summary.busyMs.toFixed(0)} ms busy — left out)`, '');
      else parts.push(renderProfileMarkdown(summary, name));
    }
  }
  const md = parts.join('\n');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, 'profile.md'), md + '\n');
  process.stdout.write('\n' + md + '\n');
  log(`wrote ${path.relative(process.cwd(), path.join(outDir, 'profile.md'))} (raw profiles in ${path.relative(process.cwd(), path.join(outDir, 'profiles'))}/)`);
}

function stripProbes(res) {
  const out = {};
  for (const [id, r] of Object.entries(res)) {
    out[id] = { ...r, probe: r.probe ? { ...r.probe, json: undefined, text: r.probe.text?.slice(0, 1000) } : undefined };
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Soak: N executions of the transform flow, RSS sampled every few seconds

async function soak({ flowsDir }) {
  const n = args.soak;
  const sc = SCENARIOS.find((x) => x.id === (args.soakMinimal ? 'flowd-transform3-min' : 'flowd-transform3'));
  servers.flowd = await startFlowd('flowd', { flowsDir, extraEnv: {}, lifetimeMs });
  if (!servers.flowd.ok) throw new Error(`flowd did not start: ${servers.flowd.reason}`);
  const { proc, port } = servers.flowd;
  const url = `http://127.0.0.1:${port}${sc.path}`;
  const p = await probe(sc);
  if (p.error || p.status !== 200) throw new Error(`the transform flow does not answer 200: ${p.error ?? `${p.status} ${p.text?.slice(0, 300)}`}`);

  const warmupCount = Math.max(20_000, Math.round(n * 0.1));
  const intervalMs = 2000;
  let done = 0;
  const samples = [];
  const t0 = performance.now();
  const sample = () => {
    const m = readMem(proc.pid);
    if (m) samples.push({ tSec: (performance.now() - t0) / 1000, executions: done, rssMb: m.rssKb / 1024, hwmMb: m.hwmKb / 1024 });
  };
  sample();
  const timer = setInterval(() => {
    sample();
    const last = samples.at(-1);
    if (last) log(`soak ${last.executions.toLocaleString('en-US')}/${n.toLocaleString('en-US')}  rss ${last.rssMb.toFixed(1)} MB`);
  }, intervalMs);
  log(`soak: ${n.toLocaleString('en-US')} executions of ${sc.id}, ${config.connections} connections, RSS every ${intervalMs / 1000} s; warm-up = first ${warmupCount.toLocaleString('en-US')}`);
  const m = await runLoad({
    url,
    method: 'POST',
    headers: sc.headers,
    body: sc.body,
    connections: config.connections,
    amount: n,
    collectLatencies: true,
    onProgress: (count) => {
      done = count;
    },
  });
  clearInterval(timer);
  sample();

  // RSS after the warm-up, compared as the median of its first quarter ("early") against the median of its last
  // quarter ("late"), so one sample caught before or after a GC cycle does not decide. Growth beyond 10% is a MISS;
  // a fall is reported but is no leak.
  const after = samples.filter((s) => s.executions >= warmupCount);
  const q = Math.max(1, Math.floor(after.length / 4));
  const med = (xs) => {
    const v = [...xs].sort((a, b) => a - b);
    return v.length ? (v.length % 2 ? v[v.length >> 1] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2) : null;
  };
  const early = med(after.slice(0, q).map((s) => s.rssMb)) ?? samples.at(-1).rssMb;
  const late = med(after.slice(-q).map((s) => s.rssMb)) ?? samples.at(-1).rssMb;
  const peakAfter = after.length ? Math.max(...after.map((s) => s.rssMb)) : null;
  const last = samples.at(-1);
  const growth = (late - early) / early;
  const enough = after.length >= 4;
  const flat = enough && growth <= 0.1;
  const result = {
    meta,
    config: { ...config, executions: n, warmupExecutions: warmupCount, scenario: sc.id, sampleEverySec: intervalMs / 1000 },
    executions: m.responses,
    ok2xx: m.ok2xx,
    non2xx: m.non2xx,
    statusCodes: m.statusCodes,
    errors: m.errors,
    rps: m.rps,
    p50: m.p50,
    p99: m.p99,
    rss: {
      firstMb: samples[0].rssMb,
      earlyAfterWarmupMb: early,
      lateMb: late,
      lastMb: last.rssMb,
      peakMb: Math.max(...samples.map((s) => s.rssMb)),
      peakAfterWarmupMb: peakAfter,
      hwmMb: last.hwmMb,
      growthAfterWarmupPct: growth * 100,
    },
    verdict: !enough ? 'n/a' : flat ? 'PASS' : 'MISS',
    samples,
  };
  const f = (x) => x.toFixed(1);
  const md = [
    `# flowd memory soak — ${n.toLocaleString('en-US')} executions of ${sc.id}`,
    '',
    `- date: ${meta.date}; ${meta.cpuModel}, ${meta.cores} cores; Node ${meta.node}; flowd ${meta.commit ?? ''}`,
    `- ${config.connections} connections; ${m.responses.toLocaleString('en-US')} responses (${m.non2xx} non-2xx${m.non2xx ? ` ${JSON.stringify(m.statusCodes)}` : ''}, ${m.errors} errors) in ${m.durationSec.toFixed(0)} s — ${Math.round(m.rps)} req/s, p50 ${m.p50?.toFixed(2)} ms, p99 ${m.p99?.toFixed(2)} ms`,
    '',
    '| RSS (MB) | first | early after warm-up | late | last | peak | VmHWM | growth (late vs early) | target (≤ +10%) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---|',
    `| flowd | ${f(result.rss.firstMb)} | ${f(early)} | ${f(late)} | ${f(last.rssMb)} | ${f(result.rss.peakMb)} | ${f(last.hwmMb)} | ${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(1)}% | **${result.verdict}**${growth < -0.1 ? ' (RSS fell)' : ''} |`,
    '',
    `Warm-up is the first ${warmupCount.toLocaleString('en-US')} executions. "early" / "late" are the medians of the first / last quarter of the RSS samples after it (every ${intervalMs / 1000} s); the target is late ≤ early + 10%.${enough ? '' : ' Too few samples after the warm-up for a verdict: soak longer.'}`,
    '',
    '| t (s) | executions | RSS MB |',
    '|---:|---:|---:|',
    ...thin(samples, 40).map((s) => `| ${s.tSec.toFixed(0)} | ${s.executions.toLocaleString('en-US')} | ${f(s.rssMb)} |`),
    '',
  ].join('\n');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, 'soak.json'), JSON.stringify(result, null, 2) + '\n');
  writeFileSync(path.join(outDir, 'soak.md'), md);
  process.stdout.write(md);
  log(`wrote ${path.relative(process.cwd(), path.join(outDir, 'soak.md'))} and soak.json`);
}

function thin(list, max) {
  if (list.length <= max) return list;
  const step = (list.length - 1) / (max - 1);
  return Array.from({ length: max }, (_, i) => list[Math.round(i * step)]);
}
