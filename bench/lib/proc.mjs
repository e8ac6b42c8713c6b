// Child processes, ports, readiness and /proc sampling for the benchmark harness.
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

export const GUARD_PATH = fileURLToPath(new URL('./guard.mjs', import.meta.url));
export const GUARD_URL = new URL('./guard.mjs', import.meta.url).href;

const children = new Set();

/** Clock ticks per second for /proc/<pid>/stat (USER_HZ), normally 100. */
export const CLK_TCK = (() => {
  try {
    const v = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return v > 0 ? v : 100;
  } catch {
    return 100;
  }
})();

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A free TCP port on 127.0.0.1 (bound then released). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Whether something accepts TCP connections on host:port (within timeoutMs). */
export function isListening(port, host = '127.0.0.1', timeoutMs = 500) {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (v) => {
      socket.destroy();
      resolve(v);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Starts a child process with its stdout/stderr kept (last 16 KB each) for diagnostics.
 * Returns { name, child, pid, exited (promise of {code, signal}), isAlive(), output() }.
 *
 * Each child runs in a session of its own (`detached`): the harness pauses children (SIGSTOP, pauseAllBut), and when
 * the process group of stopped processes is orphaned — the harness started in the background by a shell that has
 * exited — the kernel sends the whole group SIGHUP whenever one of its members exits. Node-RED and the baselines
 * died of it, and flowd, which reloads its flows on SIGHUP, would have reloaded in the middle of a window. The
 * harness stops its children itself, and their guard (guard.mjs) stops them when the harness is gone.
 */
export function startProcess(name, command, args, { env, cwd } = {}) {
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const keep = { stdout: '', stderr: '' };
  for (const stream of ['stdout', 'stderr']) {
    child[stream].setEncoding('utf8');
    child[stream].on('data', (chunk) => {
      keep[stream] = (keep[stream] + chunk).slice(-16_384);
      if (process.env.BENCH_VERBOSE) process.stderr.write(`[${name}] ${chunk}`);
    });
  }
  let alive = true;
  let exitInfo = null;
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      alive = false;
      exitInfo = { code, signal };
      children.delete(proc);
      resolve(exitInfo);
    });
    child.once('error', (err) => {
      alive = false;
      exitInfo = { code: null, signal: null, error: err.message };
      children.delete(proc);
      resolve(exitInfo);
    });
  });
  const proc = {
    name,
    child,
    pid: child.pid,
    exited,
    isAlive: () => alive,
    exitInfo: () => exitInfo,
    output: () => keep,
    tail: (n = 1500) => (keep.stderr.trim() || keep.stdout.trim()).slice(-n),
  };
  children.add(proc);
  return proc;
}

/**
 * Pauses (SIGSTOP) every child but those whose pid is in `keep`, so servers waiting for their turn
 * (their timers, pollers, a durable store's queries) take no CPU from the one measured; returns
 * the function that resumes them (SIGCONT).
 */
export function pauseAllBut(keep) {
  const paused = [...children].filter((p) => p.isAlive() && !keep.has(p.pid));
  watchForResume(paused.map((p) => p.pid));
  for (const p of paused) signal(p, 'SIGSTOP');
  return () => {
    for (const p of paused) signal(p, 'SIGCONT');
  };
}

// A paused child cannot run its guard (guard.mjs): should the harness die without its exit handlers
// (SIGKILL, a crash), a small detached watcher resumes every child it may have paused, whose guards then see
// the harness gone and stop. One watcher per set of pids not watched yet; it ends with the harness.
const watched = new Set();
const WATCHER = `
const [harness, ...pids] = process.argv.slice(1).map(Number);
setInterval(() => {
  try { process.kill(harness, 0); return; } catch {}
  for (const pid of pids) { try { process.kill(pid, 'SIGCONT'); } catch {} }
  process.exit(0);
}, 1000);`;

function watchForResume(pids) {
  const fresh = pids.filter((pid) => !watched.has(pid));
  if (fresh.length === 0) return;
  for (const pid of fresh) watched.add(pid);
  const watcher = spawn(process.execPath, ['-e', WATCHER, String(process.pid), ...fresh.map(String)], { detached: true, stdio: 'ignore' });
  watcher.unref();
}

function signal(proc, name) {
  try {
    proc.child.kill(name);
  } catch {
    /* already gone */
  }
}

/** SIGTERM (and SIGCONT, in case it is paused), then SIGKILL after graceMs. */
export async function stopProcess(proc, graceMs = 4000) {
  if (!proc || !proc.isAlive()) return;
  signal(proc, 'SIGTERM');
  signal(proc, 'SIGCONT');
  const timer = sleep(graceMs).then(() => 'timeout');
  if ((await Promise.race([proc.exited, timer])) === 'timeout') {
    try {
      proc.child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
    await Promise.race([proc.exited, sleep(2000)]);
  }
}

export async function stopAll() {
  // A profiled process writes its profile while exiting: give it longer.
  await Promise.all([...children].map((p) => stopProcess(p, p.profileDir ? 20_000 : 4000)));
}

/** Synchronous last resort (process 'exit' handler). */
export function killAllSync() {
  for (const p of children) {
    try {
      p.child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

/**
 * Polls check() (async → truthy when ready) every intervalMs until it is truthy, the process exits, or timeoutMs.
 * Returns { ok: true } or { ok: false, reason }.
 */
export async function waitReady(proc, check, { timeoutMs = 30_000, intervalMs = 100 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    if (proc && !proc.isAlive()) {
      const info = proc.exitInfo();
      return { ok: false, reason: `exited (code ${info?.code}, signal ${info?.signal}) before ready: ${proc.tail()}` };
    }
    try {
      const r = await check();
      if (r) return { ok: true };
    } catch (err) {
      lastError = err?.cause?.code ?? err?.code ?? err?.message ?? String(err);
    }
    await sleep(intervalMs);
  }
  return { ok: false, reason: `not ready after ${timeoutMs} ms (${lastError || 'no answer'}): ${proc ? proc.tail() : ''}` };
}

/** utime+stime of a process in clock ticks, or null if it is gone. */
export function readCpuTicks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); utime is field 14, stime field 15.
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return null;
  }
}

/** { rssKb, hwmKb } from /proc/<pid>/status, or null. */
export function readMem(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /VmRSS:\s+(\d+) kB/.exec(status);
    const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
    return { rssKb: rss ? Number(rss[1]) : null, hwmKb: hwm ? Number(hwm[1]) : null };
  } catch {
    return null;
  }
}

/** Busy ticks of the whole machine (all CPUs: total minus idle and iowait) from /proc/stat, or null. */
export function readMachineBusyTicks() {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const total = v.slice(0, 8).reduce((a, x) => a + x, 0);
    return total - v[3] - v[4];
  } catch {
    return null;
  }
}

/**
 * Samples CPU (utime+stime deltas ÷ wall time, in % of one core) and peak VmRSS of the given pids while running.
 * start() → stop() returns { machineCpuPct, [pid]: { cpuPct, peakRssMb, hwmMb } } (machineCpuPct: all CPUs, 100% = one core).
 */
export function sampler(pids, intervalMs = 200) {
  const state = new Map();
  let timer = null;
  let t0 = 0;
  let machine0 = null;
  const poll = () => {
    for (const [pid, s] of state) {
      const m = readMem(pid);
      if (m?.rssKb != null && m.rssKb > s.peakRssKb) s.peakRssKb = m.rssKb;
      if (m?.hwmKb != null) s.hwmKb = m.hwmKb;
    }
  };
  return {
    start() {
      t0 = performance.now();
      machine0 = readMachineBusyTicks();
      for (const pid of pids) {
        if (pid == null) continue;
        state.set(pid, { ticks0: readCpuTicks(pid), peakRssKb: 0, hwmKb: null });
      }
      poll();
      timer = setInterval(poll, intervalMs);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
      poll();
      const wallSec = (performance.now() - t0) / 1000;
      const machine1 = readMachineBusyTicks();
      const out = {
        machineCpuPct: machine0 != null && machine1 != null ? ((machine1 - machine0) / CLK_TCK / wallSec) * 100 : null,
      };
      for (const [pid, s] of state) {
        const ticks1 = readCpuTicks(pid);
        const cpuPct = s.ticks0 != null && ticks1 != null ? ((ticks1 - s.ticks0) / CLK_TCK / wallSec) * 100 : null;
        out[pid] = {
          cpuPct,
          peakRssMb: s.peakRssKb ? s.peakRssKb / 1024 : null,
          hwmMb: s.hwmKb ? s.hwmKb / 1024 : null,
        };
      }
      return out;
    },
  };
}
