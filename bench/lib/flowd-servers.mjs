// Starting flowd for the benchmark: one process (`startFlowd`) and the named servers of a run (`startFlowdServer`:
// memory, SQLite, PostgreSQL, two PostgreSQL replicas; each also on the --before build), and the flows they serve.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { copyFlowsFor, FLOWS_DIR } from './flows.mjs';
import { httpCall } from './http.mjs';
import { GUARD_URL, freePort, isListening, startProcess, waitReady } from './proc.mjs';

/** flowd's flows dir: bench/flows as is when the upstream is on 3001, else a copy pointing at the real port. */
export function flowsDirFor(upstreamPort, tmpRoot, { repoDir }) {
  if (upstreamPort === 3001) return path.relative(repoDir, FLOWS_DIR) || FLOWS_DIR;
  const dir = path.join(tmpRoot, 'flows');
  mkdirSync(dir, { recursive: true });
  copyFlowsFor(upstreamPort, dir);
  return dir;
}

/**
 * `ctx`: { repoDir, serverJs, beforeServerJs, nodeFlags, lifetimeMs, tmpRoot, profilesDir (null: no --cpu-prof),
 * canPin (taskset available), cores, pgUrl, pgSchema (prefix), pgSchemas (a Set: every schema created, dropped at the end) }.
 */
export function flowdLauncher(ctx) {
  async function startFlowd(name, { flowsDir, extraEnv, serverJs = ctx.serverJs, core = null }) {
    if (!existsSync(serverJs)) return { ok: false, reason: `${path.relative(ctx.repoDir, serverJs)} is missing (run \`npm run build\`)` };
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
      BENCH_MAX_LIFETIME_MS: String(ctx.lifetimeMs),
      ...extraEnv,
    };
    const profileDir = ctx.profilesDir ? path.join(ctx.profilesDir, name) : null;
    if (profileDir) {
      rmSync(profileDir, { recursive: true, force: true });
      mkdirSync(profileDir, { recursive: true });
    }
    const nodeFlags = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
    const nodeArgs = [...ctx.nodeFlags, ...nodeFlags, '--import', GUARD_URL, serverJs];
    // Pinned to one core with taskset (which execs node: the pid stays the same) when asked and available.
    const pinned = core != null && ctx.canPin;
    const proc = pinned
      ? startProcess(name, 'taskset', ['-c', String(core), process.execPath, ...nodeArgs], { env, cwd: ctx.repoDir })
      : startProcess(name, process.execPath, nodeArgs, { env, cwd: ctx.repoDir });
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

  /**
   * A flowd server of the run by name: `flowd` (memory), `flowd-sqlite`, `flowd-postgres`, `flowd-postgres-x2` (two
   * replicas on one schema, one core each), each optionally `@before` (the build of --before / FLOWD_BEFORE_DIST).
   * Returns { ok, proc, port, replicas: [{ proc, port }], reason }.
   */
  async function startFlowdServer(name, { flowsDir }) {
    const before = name.endsWith('@before');
    const kind = name.replace(/@before$/, '');
    const serverJs = before ? ctx.beforeServerJs : ctx.serverJs;
    const tag = before ? 'b' : 'a';
    let extraEnv = {};
    let replicas = 1;
    if (kind === 'flowd-sqlite') {
      const dataDir = path.join(ctx.tmpRoot, `sqlite-${tag}`);
      mkdirSync(dataDir, { recursive: true });
      extraEnv = { STORE: 'sqlite', DATA_DIR: dataDir, PERSISTENCE: 'all' };
    } else if (kind.startsWith('flowd-postgres')) {
      const pg = new URL(ctx.pgUrl);
      if (!(await isListening(Number(pg.port || 5432), pg.hostname))) return { ok: false, reason: `no PostgreSQL listening on ${pg.hostname}:${pg.port || 5432} (set BENCH_DATABASE_URL)` };
      const schema = `${ctx.pgSchema}_${tag}${kind === 'flowd-postgres-x2' ? '2' : '1'}`;
      ctx.pgSchemas.add(schema);
      extraEnv = { STORE: 'postgres', DATABASE_URL: ctx.pgUrl, DATABASE_SCHEMA: schema, PERSISTENCE: 'all' };
      if (kind === 'flowd-postgres-x2') replicas = 2;
    } else if (kind !== 'flowd') {
      return { ok: false, reason: `unknown server ${name}` };
    }
    const started = [];
    for (let i = 0; i < replicas; i++) {
      // Replicas one after another: the first one migrates the schema, the second finds it ready.
      const r = await startFlowd(replicas > 1 ? `${name}#${i + 1}` : name, { flowsDir, extraEnv, serverJs, core: replicas > 1 ? i % ctx.cores : null });
      if (!r.ok) return { ok: false, proc: r.proc, reason: r.reason };
      started.push({ proc: r.proc, port: r.port });
    }
    return { ok: true, proc: started[0].proc, port: started[0].port, replicas: started, schema: extraEnv.DATABASE_SCHEMA ?? null };
  }

  return { startFlowd, startFlowdServer };
}
