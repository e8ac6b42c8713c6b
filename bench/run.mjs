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
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { parseArgs } from './lib/args.mjs';
import { flowdLauncher, flowsDirFor } from './lib/flowd-servers.mjs';
import { httpCall } from './lib/http.mjs';
import { hasTaskset, machineInfo, versionOf, waitMachineIdle } from './lib/machine.mjs';
import { ensureNodeRed, startNodeRed } from './lib/peer.mjs';
import { dropSchema } from './lib/pg.mjs';
import { pgCountPass } from './lib/pg-count.mjs';
import { writeProfiles } from './lib/profile.mjs';
import { freePort, isListening, killAllSync, sleep, startProcess, stopAll, waitReady } from './lib/proc.mjs';
import { renderMarkdown, summarize } from './lib/report.mjs';
import { RAW_BODY, SCENARIOS, selectScenarios, withBefore } from './lib/scenarios.mjs';
import { runSoak } from './lib/soak.mjs';
import { evaluateTargets } from './lib/targets.mjs';
import { measure } from './lib/window.mjs';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const REPO_DIR = path.dirname(BENCH_DIR);
// BENCH_FLOWD_SERVER points the harness at another flowd entry point (e.g. another checkout's build).
const SERVER_JS = path.resolve(REPO_DIR, process.env.BENCH_FLOWD_SERVER ?? path.join('dist', 'src', 'server.js'));
// V8 flags flowd runs with — the same as `npm start` and the Docker image (BENCH_NODE_FLAGS overrides, '' for none).
const NODE_FLAGS = (process.env.BENCH_NODE_FLAGS ?? '--max-semi-space-size=32').split(/\s+/).filter(Boolean);
const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
// Every PostgreSQL flowd gets a fresh schema of this run (dropped at the end): other users of the database stay apart.
const PG_SCHEMA = `flowd_bench_${process.pid}`;

const NOISY_OTHER_PCT = 25;
const IDLE_BUSY_PCT = 20;
// BENCH_IDLE_WAIT_MS=0 skips the wait (smoke runs on a machine that is never quiet).
const IDLE_WAIT_MAX_MS = Number(process.env.BENCH_IDLE_WAIT_MS ?? 15_000);
const log = (msg) => process.stderr.write(`[bench] ${msg}\n`);

// ---------------------------------------------------------------------------------------------------------------
// Main

function usageError(err) {
  process.stderr.write(`bench: ${err.message}\n`);
  process.exit(2);
}
let args;
try {
  args = parseArgs(process.argv.slice(2), fileURLToPath(import.meta.url));
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
const pgSchemas = new Set(); // dropped at the end
let selected = [];
try {
  if (!args.soak) selected = selectScenarios(args.only);
  if (BEFORE_SERVER_JS) {
    if (!existsSync(BEFORE_SERVER_JS)) throw new Error(`--before / FLOWD_BEFORE_DIST: ${BEFORE_SERVER_JS} does not exist (build that checkout first)`);
    selected = withBefore(selected, BEFORE_DIST);
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
const meta = machineInfo(REPO_DIR);
const notes = [];
const servers = {}; // name → { ok, proc, port, reason }
const results = {}; // scenario id → { status, reason, probe, rounds, summary, outputCheck }
const launcher = flowdLauncher({
  repoDir: REPO_DIR,
  serverJs: SERVER_JS,
  beforeServerJs: BEFORE_SERVER_JS,
  nodeFlags: NODE_FLAGS,
  lifetimeMs,
  tmpRoot,
  profilesDir: args.profile ? path.join(outDir, 'profiles') : null,
  canPin: hasTaskset(),
  cores: meta.cores,
  pgUrl: PG_URL,
  pgSchema: PG_SCHEMA,
  pgSchemas,
});

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
  const flowsDir = flowsDirFor(upstreamPort, tmpRoot, { repoDir: REPO_DIR });

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
  if (args.profile) writeProfiles({ servers, scenarioIds: selected.map((sc) => sc.id), meta, outDir, repoDir: REPO_DIR, log });
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
    servers[name] = await launcher.startFlowdServer(name, { flowsDir });
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
        const idle = await waitMachineIdle(IDLE_WAIT_MAX_MS, IDLE_BUSY_PCT);
        const m = await measure(sc, srv, { upstreamPort, upstream, round, config });
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
      const pass = { flowsDir, serverJs: before ? BEFORE_SERVER_JS : SERVER_JS, build: before ? `before (${BEFORE_DIST})` : `this build${meta.commit ? ` (${meta.commit})` : ''}`, tag: before ? 'b' : 'a', path: sc.path, body: sc.body };
      pgCounts.push(...(await pgCountPass(pass, { startFlowd: launcher.startFlowd, pgUrl: PG_URL, pgSchema: PG_SCHEMA, pgSchemas, config, log })));
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

/** The comparable "output" of a probe: the body, or for a flowd execution record its `output`. */
function outputOf(sc, probe) {
  if (!probe?.json) return undefined;
  if (sc.server.startsWith('flowd') && sc.variant !== 'minimal' && probe.json && typeof probe.json === 'object' && 'executionId' in probe.json)
    return probe.json.output;
  return probe.json;
}

function stripProbes(res) {
  const out = {};
  for (const [id, r] of Object.entries(res)) {
    out[id] = { ...r, probe: r.probe ? { ...r.probe, json: undefined, text: r.probe.text?.slice(0, 1000) } : undefined };
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Soak: N executions of the transform flow, RSS sampled every few seconds (bench/lib/soak.mjs)

async function soak({ flowsDir }) {
  const sc = SCENARIOS.find((x) => x.id === (args.soakMinimal ? 'flowd-transform3-min' : 'flowd-transform3'));
  servers.flowd = await launcher.startFlowd('flowd', { flowsDir, extraEnv: {} });
  if (!servers.flowd.ok) throw new Error(`flowd did not start: ${servers.flowd.reason}`);
  const p = await probe(sc);
  if (p.error || p.status !== 200) throw new Error(`the transform flow does not answer 200: ${p.error ?? `${p.status} ${p.text?.slice(0, 300)}`}`);
  await runSoak({ n: args.soak, sc, proc: servers.flowd.proc, port: servers.flowd.port, config, meta, outDir, log });
}
