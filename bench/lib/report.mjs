// Medians across rounds and the Markdown report (targets and their sections: targets.mjs).
import { renderBeforeAfter, renderDurable, renderPgCounts, renderSummary, TARGETS } from './targets.mjs';

export function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

const MEDIAN_FIELDS = [
  'rps',
  'p50',
  'p95',
  'p99',
  'mean',
  'cpuPct',
  'cpuUsPerReq',
  'upstreamCpuPct',
  'loadgenCpuPct',
  'machineCpuPct',
  'otherCpuPct',
  'upstreamCallsPerReq',
  'bytesPerResponse',
  'pgCpuPct',
  'pgCpuUsPerReq',
];

/** Folds the rounds of one scenario into medians (peak RSS: the max over rounds; errors: sums). */
export function summarize(rounds) {
  const s = { rounds: rounds.length };
  for (const f of MEDIAN_FIELDS) s[f] = median(rounds.map((r) => r[f]));
  s.peakRssMb = Math.max(0, ...rounds.map((r) => r.peakRssMb ?? 0)) || null;
  s.hwmMb = Math.max(0, ...rounds.map((r) => r.hwmMb ?? 0)) || null;
  s.responses = rounds.reduce((a, r) => a + (r.responses ?? 0), 0);
  s.non2xx = rounds.reduce((a, r) => a + (r.non2xx ?? 0), 0);
  s.errors = rounds.reduce((a, r) => a + (r.errors ?? 0), 0);
  s.timeouts = rounds.reduce((a, r) => a + (r.timeouts ?? 0), 0);
  const rps = rounds.map((r) => r.rps).filter((x) => typeof x === 'number');
  s.rpsMin = rps.length ? Math.min(...rps) : null;
  s.rpsMax = rps.length ? Math.max(...rps) : null;
  s.statusCodes = {};
  for (const r of rounds) {
    for (const [code, v] of Object.entries(r.statusCodes ?? {})) s.statusCodes[code] = (s.statusCodes[code] ?? 0) + v.count;
  }
  return s;
}

export function hasErrors(s) {
  return s && (s.non2xx > 0 || s.errors > 0 || s.timeouts > 0);
}

const fmtInt = (x) => (x == null ? '—' : Math.round(x).toLocaleString('en-US'));
const fmtMs = (x) => (x == null ? '—' : x < 10 ? x.toFixed(2) : x.toFixed(1));
const fmtPct = (x) => (x == null ? '—' : `${(x * 100).toFixed(0)}%`);
const fmtX = (x) => (x == null ? '—' : `${x.toFixed(1)}×`);
const fmt1 = (x) => (x == null ? '—' : x.toFixed(1));

function shortReason(reason) {
  const oneLine = String(reason).replace(/\s+/g, ' ').trim();
  return oneLine.length > 160 ? `${oneLine.slice(0, 157)}…` : oneLine;
}

/** Markdown report: header with machine info, results table, targets, per-round figures, notes. */
export function renderMarkdown({ meta, config, scenarios, results, targets, notes, pgCounts, soak }) {
  const L = [];
  L.push(`# flowd benchmark — ${config.quick ? 'quick' : 'full'} run`);
  L.push('');
  L.push(`- date: ${meta.date}`);
  L.push(`- machine: ${meta.cpuModel}, ${meta.cores} cores, ${meta.memGb} GB RAM, ${meta.os}; load average at start ${meta.loadAvgStart}`);
  L.push(`- Node ${meta.node}; autocannon ${meta.autocannon}; fastify ${meta.fastify}; undici ${meta.undici}; Node-RED ${meta.nodeRed ?? 'unavailable'}; flowd ${meta.flowd ?? 'unavailable'}`);
  L.push(
    `- load: autocannon (in the harness process), ${config.connections} connections, pipelining 1, ${config.warmupSec} s warm-up + ${config.durationSec} s measured per scenario, ${config.rounds} round(s) interleaved; body \`${config.body}\` (flowd: \`{"input": …}\`)`,
  );
  L.push('- everything on 127.0.0.1: load generator, server under test, upstream (separate process) share the cores');
  L.push('');
  L.push(`## Verdicts against issue 14's targets (median of ${config.rounds} round${config.rounds > 1 ? 's' : ''})`);
  L.push('');
  L.push(renderSummary(scenarios, results, targets));
  L.push('');
  L.push(`Targets: server CPU per response ≤ ${TARGETS.cpuOfLimit}× the hand-written limit's, p99 ≤ ${TARGETS.p99OfLimit}× the limit's p99, req/s ≥ ${TARGETS.peerRps}× Node-RED's on the equivalent flow. The CPU figure is the verdict that counts on a shared machine; req/s and p99 move with whatever else runs.`);
  L.push('');
  const durable = renderDurable(scenarios, results, targets);
  if (durable) {
    L.push('## Durable stores and replicas', '', durable, '');
    L.push('`PostgreSQL CPU µs/exec`: utime+stime of every `postgres` process on the machine during the window ÷ responses (other clients of the same server count too: run on a quiet machine); `executions/s per PostgreSQL core` = 10⁶ ÷ that. The two-replica row runs two flowd processes on one PostgreSQL schema (pinned to one core each with `taskset` when available), the load split evenly across them; its CPU is the sum of both.', '');
  }
  const counts = renderPgCounts(pgCounts);
  if (counts) {
    L.push('## PostgreSQL round trips per durable execution', '', counts, '');
    L.push('Counted by a wire counter between a separate flowd (`STORE=postgres PERSISTENCE=all`, its own schema) and PostgreSQL: every Execute / simple Query is a statement, every Sync / simple Query a round trip, every BEGIN…COMMIT or autocommitted round trip a transaction. Rows: `pg_stat_user_tables` deltas of that schema (settled: PostgreSQL publishes them up to 10 s late). "sequential" is one connection (no batching possible); "concurrent" is 50 connections, where group commit can batch executions.', '');
  }
  const ba = renderBeforeAfter(scenarios, results);
  if (ba) L.push(`## Before / after (${meta.before ?? 'FLOWD_BEFORE_DIST'})`, '', ba, '', 'The same scenarios on the other build, interleaved in the same rounds (`<id>@before` rows in the results table). "CPU lower?" is the median, over the rounds, of after ÷ before within each round (both builds measured next to each other): conditions change more between rounds than within one.', '');
  L.push(`## Results (median of ${config.rounds} round${config.rounds > 1 ? 's' : ''})`);
  L.push('');
  L.push('| scenario | what | req/s | p50 ms | p95 ms | p99 ms | server CPU % | server CPU µs/req | peak RSS MB | upstream CPU % | load gen CPU % | other CPU % | upstream calls/req | resp bytes | vs limit | vs Node-RED | flags |');
  L.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const sc of scenarios) {
    const r = results[sc.id];
    if (!r) continue;
    if (r.status !== 'ok') {
      L.push(`| ${sc.id} | ${sc.what} | — | — | — | — | — | — | — | — | — | — | — | — | — | — | ${r.status}: ${shortReason(r.reason ?? '').replaceAll('|', '\\|')} |`);
      continue;
    }
    const s = r.summary;
    const lim = sc.limit && results[sc.limit]?.status === 'ok' ? results[sc.limit].summary : null;
    const peer = sc.peer && results[sc.peer]?.status === 'ok' ? results[sc.peer].summary : null;
    const flags = [];
    if (hasErrors(s)) flags.push(`⚠ ${s.non2xx} non-2xx, ${s.errors} errors${s.timeouts ? `, ${s.timeouts} timeouts` : ''} (${Object.entries(s.statusCodes).map(([c, n]) => `${c}×${n}`).join(' ')})`);
    if (r.outputCheck && !r.outputCheck.ok) flags.push(`⚠ output differs: ${r.outputCheck.detail}`);
    // Requests in flight at the window's edges (up to one per connection) blur the count: allow for them.
    const perRound = s.responses / Math.max(1, s.rounds);
    const callTolerance = Math.max(0.05, 0.03 * (sc.expectCalls ?? 0), perRound > 0 ? (config.connections * (sc.expectCalls ?? 0)) / perRound : 0);
    if (sc.expectCalls != null && s.upstreamCallsPerReq != null && Math.abs(s.upstreamCallsPerReq - sc.expectCalls) > callTolerance && !sc.cached)
      flags.push(`⚠ expected ${sc.expectCalls} upstream calls/req`);
    if (sc.cached && s.upstreamCallsPerReq != null && s.upstreamCallsPerReq > 0.05) flags.push('⚠ cache misses');
    if (s.otherCpuPct != null && s.otherCpuPct > 20) flags.push(`other processes used ${s.otherCpuPct.toFixed(0)}% CPU`);
    if (r.rounds.length > 1 && s.rpsMin != null && s.rps > 0 && (s.rpsMax - s.rpsMin) / s.rps > 0.15)
      flags.push(`spread ${fmtPct((s.rpsMax - s.rpsMin) / s.rps)}`);
    L.push(
      `| ${sc.id} | ${sc.what} | ${fmtInt(s.rps)} | ${fmtMs(s.p50)} | ${fmtMs(s.p95)} | ${fmtMs(s.p99)} | ${fmt1(s.cpuPct)} | ${fmtInt(s.cpuUsPerReq)}${lim?.cpuUsPerReq ? ` (${fmt1(s.cpuUsPerReq / lim.cpuUsPerReq)}×)` : ''} | ${fmt1(s.peakRssMb)} | ${fmt1(s.upstreamCpuPct)} | ${fmt1(s.loadgenCpuPct)} | ${fmt1(s.otherCpuPct)} | ${s.upstreamCallsPerReq == null ? '—' : s.upstreamCallsPerReq.toFixed(2)} | ${r.probe?.bytes ?? '—'} | ${lim ? fmtPct(s.rps / lim.rps) : '—'} | ${peer ? fmtX(s.rps / peer.rps) : '—'} | ${flags.join('; ')} |`,
    );
  }
  L.push('');
  L.push('`vs limit` = req/s ÷ the matching hand-written Fastify route (limit-*); `vs Node-RED` = req/s ÷ the equivalent Node-RED flow. CPU columns are utime+stime ÷ wall time (100% = one core): the server, the upstream process, the load generator (the harness), and `other` = the busy time of the whole machine (/proc/stat) minus those three — work of other processes that skews that row. `server CPU µs/req` is the CPU time of the server per 2xx response (in brackets: × that of the limit) — the cost of a request, much less sensitive to other load than req/s. Peak RSS is the highest VmRSS sampled (every 200 ms) during a measured window of that scenario. `resp bytes` is the body size of one response.');
  L.push('');
  L.push('## Targets');
  L.push('');
  if (targets.length === 0) L.push('No flowd scenario was measured.');
  else {
    L.push('| target | scenario | measured | required | verdict | detail |');
    L.push('|---|---|---:|---:|---|---|');
    for (const t of targets)
      L.push(`| ${t.target} | ${t.scenario} | ${t.measured ?? '—'} | ${t.required ?? '—'} | **${t.verdict}** | ${String(t.detail ?? '').replaceAll('|', '\\|')} |`);
  }
  L.push('');
  if (soak?.rss)
    L.push(
      `Memory target (RSS flat within 10% over 1 000 000 executions of the transform flow), from the last soak (\`npm run bench:soak\`, ${soak.meta?.date ?? '?'}, flowd ${soak.meta?.commit ?? '?'}, ${Number(soak.executions).toLocaleString('en-US')} executions): RSS ${soak.rss.growthAfterWarmupPct >= 0 ? '+' : ''}${soak.rss.growthAfterWarmupPct.toFixed(1)}% after the warm-up — **${soak.verdict}** (bench/results/soak.md).`,
    );
  else L.push('Memory target (RSS flat within 10% over 1 000 000 executions of the transform flow): `npm run bench:soak` (see bench/results/soak.md).');
  L.push('');
  if (config.rounds > 1) {
    L.push('## Per round');
    L.push('');
    const n = config.rounds;
    L.push(`| scenario | ${Array.from({ length: n }, (_, i) => `r${i + 1} req/s`).join(' | ')} | ${Array.from({ length: n }, (_, i) => `r${i + 1} p99`).join(' | ')} |`);
    L.push(`|---|${'---:|'.repeat(2 * n)}`);
    for (const sc of scenarios) {
      const r = results[sc.id];
      if (r?.status !== 'ok') continue;
      L.push(`| ${sc.id} | ${r.rounds.map((x) => fmtInt(x.rps)).join(' | ')} | ${r.rounds.map((x) => fmtMs(x.p99)).join(' | ')} |`);
    }
    L.push('');
  }
  L.push('## Scenarios');
  L.push('');
  for (const sc of scenarios) {
    if (!results[sc.id]) continue;
    L.push(`- **${sc.id}** — ${sc.description}`);
  }
  L.push('');
  if (notes.length) {
    L.push('## Notes');
    L.push('');
    for (const n of notes) L.push(`- ${n}`);
    L.push('');
  }
  const probes = scenarios.filter((sc) => results[sc.id]?.probe);
  if (probes.length) {
    L.push('## One response of each scenario');
    L.push('');
    L.push('| scenario | status | bytes | body (truncated) |');
    L.push('|---|---:|---:|---|');
    for (const sc of probes) {
      const p = results[sc.id].probe;
      const body = (p.text ?? p.error ?? '').replace(/\s+/g, ' ').slice(0, 300).replaceAll('|', '\\|');
      L.push(`| ${sc.id} | ${p.status ?? '—'} | ${p.bytes ?? '—'} | \`${body}\` |`);
    }
    L.push('');
  }
  return L.join('\n');
}
