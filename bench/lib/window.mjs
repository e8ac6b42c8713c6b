// One measured window of a scenario: warm-up, then the load while the server's, the upstream's, PostgreSQL's and the
// machine's CPU are sampled; every other server of the run is paused meanwhile.
import { httpCall } from './http.mjs';
import { mergeLoads, runLoad } from './load.mjs';
import { postgresCpuDelta, postgresCpuTicks } from './pg.mjs';
import { CLK_TCK, pauseAllBut, sampler, sleep } from './proc.mjs';

/** One warm-up + measured window of a scenario, with CPU/RSS sampling and the upstream call count. */
export async function measure(sc, srv, { upstreamPort, upstream, round, config }) {
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
    return await measureWindow(sc, reps, loads, { upstreamPort, upstream, round, config });
  } finally {
    resume();
  }
}

async function measureWindow(sc, reps, loads, { upstreamPort, upstream, round, config }) {
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

async function upstreamCount(port) {
  try {
    const r = await httpCall(`http://127.0.0.1:${port}/stats`, { timeoutMs: 2000 });
    return r.json?.requests ?? null;
  } catch {
    return null;
  }
}
