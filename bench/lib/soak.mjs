// The memory soak: N executions of one scenario against a started flowd, its RSS sampled every few seconds, with a
// flat / growing verdict (issue 14: RSS flat within ±10 % over 1 000 000 executions). Writes soak.{md,json}.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runLoad } from './load.mjs';
import { readMem } from './proc.mjs';

export async function runSoak({ n, sc, proc, port, config, meta, outDir, log }) {
  const url = `http://127.0.0.1:${port}${sc.path}`;
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
