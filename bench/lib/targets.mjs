// Issue 14's targets, checked on the medians of one run, and the report sections built on them: the summary table
// (flowd next to its limit and Node-RED), durable stores, PostgreSQL per execution, replicas, before/after.

export const TARGETS = {
  cpuOfLimit: 2.0, // server CPU µs per response ≤ 2.0× the hand-written limit's
  p99OfLimit: 2.0, // p99 ≤ 2× the limit's p99
  peerRps: 4.0, // ≥ 4× Node-RED's req/s on the equivalent flow
  // durable stores, req/s as a share of the in-memory flowd-transform3: set per scenario (`minOfCompare`)
};

/** 0.1.0, counted on PostgreSQL's statistics over 500 sequential executions of bench-transform3 (issue 14). */
export const PG_REFERENCE_010 = { transactions: 6, inserted: 9, updated: 1 };

const fmtInt = (x) => (x == null ? '—' : Math.round(x).toLocaleString('en-US'));
const fmtMs = (x) => (x == null ? '—' : x < 10 ? x.toFixed(2) : x.toFixed(1));
const fmtPct = (x) => (x == null ? '—' : `${(x * 100).toFixed(0)}%`);
const fmtX = (x) => (x == null ? '—' : `${x.toFixed(2)}×`);
const fmt1 = (x) => (x == null ? '—' : x.toFixed(1));
const cell = (s) => String(s ?? '').replaceAll('|', '\\|').replace(/\s+/g, ' ');

function hasErrors(s) {
  return s && (s.non2xx > 0 || s.errors > 0 || s.timeouts > 0);
}

/**
 * Returns [{ target, scenario, measured, required, verdict: 'PASS'|'MISS'|'n/a', detail }] for every flowd scenario
 * of `scenarios` (before-build twins are not judged). `results` maps id → { status, reason, summary }.
 */
export function evaluateTargets(scenarios, results) {
  const out = [];
  const get = (id) => results[id];
  const usable = (id) => get(id)?.status === 'ok' && get(id).summary?.rps != null;
  const why = (id) => (get(id) ? `${id}: ${get(id).status}${get(id).reason ? ` (${String(get(id).reason).slice(0, 140)})` : ''}` : `${id}: not run`);
  const errorNote = (id) => {
    const s = get(id)?.summary;
    if (!hasErrors(s)) return null;
    const bad = s.non2xx + s.errors + s.timeouts;
    return bad / Math.max(1, s.responses + s.errors) > 0.001 ? `${bad} non-2xx/errors` : null;
  };
  const check = (target, scenario, ids, fn) => {
    const missing = ids.find((id) => !usable(id));
    if (missing) return out.push({ target, scenario, verdict: 'n/a', detail: why(missing) });
    const r = fn();
    if (r == null) return out.push({ target, scenario, verdict: 'n/a', detail: 'not measured (no CPU sample)' });
    const err = errorNote(scenario);
    out.push({ target, scenario, measured: r.measured, required: r.required, verdict: r.pass && !err ? 'PASS' : 'MISS', detail: err ?? r.detail });
  };

  for (const sc of scenarios) {
    if (sc.beforeOf || !sc.server.startsWith('flowd')) continue;
    const v = sc.variant === 'minimal' ? ' (minimal)' : '';
    if (sc.family && sc.limit) {
      check(`${sc.family}${v}: server CPU/response ≤ ${TARGETS.cpuOfLimit}× ${sc.limit}`, sc.id, [sc.id, sc.limit], () => {
        const a = get(sc.id).summary.cpuUsPerReq;
        const b = get(sc.limit).summary.cpuUsPerReq;
        if (a == null || !b) return null;
        const ratio = a / b;
        return {
          measured: `${fmtInt(a)} µs (${fmtX(ratio)})`,
          required: `≤ ${fmtInt(b * TARGETS.cpuOfLimit)} µs`,
          pass: ratio <= TARGETS.cpuOfLimit,
          detail: ratio <= TARGETS.cpuOfLimit ? `${fmtInt(b * TARGETS.cpuOfLimit - a)} µs to spare` : `${fmtInt(a - b * TARGETS.cpuOfLimit)} µs/response over (−${fmtPct(1 - (b * TARGETS.cpuOfLimit) / a)} needed)`,
        };
      });
      check(`${sc.family}${v}: p99 ≤ ${TARGETS.p99OfLimit}× p99 of ${sc.limit}`, sc.id, [sc.id, sc.limit], () => {
        const a = get(sc.id).summary.p99;
        const allowed = TARGETS.p99OfLimit * get(sc.limit).summary.p99;
        return {
          measured: `${fmtMs(a)} ms`,
          required: `≤ ${fmtMs(allowed)} ms`,
          pass: a <= allowed,
          detail: a <= allowed ? `${fmtMs(allowed - a)} ms to spare` : `${fmtMs(a - allowed)} ms over (${fmt1(a / get(sc.limit).summary.p99)}× the limit's p99)`,
        };
      });
    }
    if (sc.peer) {
      check(`${sc.family}${v}: req/s ≥ ${TARGETS.peerRps}× ${sc.peer}`, sc.id, [sc.id, sc.peer], () => {
        const ratio = get(sc.id).summary.rps / get(sc.peer).summary.rps;
        return {
          measured: fmtX(ratio),
          required: `≥ ${fmtX(TARGETS.peerRps)}`,
          pass: ratio >= TARGETS.peerRps,
          detail: ratio >= TARGETS.peerRps ? `${fmtX(ratio - TARGETS.peerRps)} to spare` : `needs +${fmtPct(TARGETS.peerRps / ratio - 1)} req/s`,
        };
      });
    }
    if (sc.fasterThan) {
      check(`${sc.family}${v}: faster than ${sc.fasterThan}`, sc.id, [sc.id, sc.fasterThan], () => {
        const a = get(sc.id).summary;
        const b = get(sc.fasterThan).summary;
        return {
          measured: `${fmtInt(a.rps)} req/s, p50 ${fmtMs(a.p50)} ms`,
          required: `> ${fmtInt(b.rps)} req/s, p50 ≤ ${fmtMs(b.p50)} ms`,
          pass: a.rps > b.rps && a.p50 <= b.p50,
          detail: `${a.rps >= b.rps ? '+' : ''}${fmtPct(a.rps / b.rps - 1)} req/s vs uncached`,
        };
      });
    }
    if (sc.compare && sc.minOfCompare != null) {
      check(`${sc.store} PERSISTENCE=all: req/s ≥ ${fmtPct(sc.minOfCompare)} of ${sc.compare}`, sc.id, [sc.id, sc.compare], () => {
        const ratio = get(sc.id).summary.rps / get(sc.compare).summary.rps;
        return {
          measured: fmtPct(ratio),
          required: `≥ ${fmtPct(sc.minOfCompare)}`,
          pass: ratio >= sc.minOfCompare,
          detail: ratio >= sc.minOfCompare ? `${((ratio - sc.minOfCompare) * 100).toFixed(0)} pts to spare` : `${((sc.minOfCompare - ratio) * 100).toFixed(0)} pts short: needs +${fmtPct(sc.minOfCompare / ratio - 1)} req/s`,
        };
      });
    }
  }
  return out;
}

/** The headline table: each flowd scenario's CPU, req/s and p99 next to its limit's and Node-RED's, with verdicts. */
export function renderSummary(scenarios, results, targets) {
  const L = [];
  const verdictOf = (id, prefix) => targets.find((t) => t.scenario === id && t.target.includes(prefix))?.verdict;
  const v = (x) => (x ? `**${x}**` : '—');
  L.push('| scenario | CPU µs/resp | limit | × limit | ≤ 2× | req/s | limit | Node-RED | × Node-RED | ≥ 4× | p99 ms | limit p99 | × limit | ≤ 2× |');
  L.push('|---|---:|---:|---:|---|---:|---:|---:|---:|---|---:|---:|---:|---|');
  for (const sc of scenarios) {
    if (sc.beforeOf || !sc.family) continue;
    const r = results[sc.id];
    if (r?.status !== 'ok' || !r.summary) {
      L.push(`| ${sc.id} | ${cell(r?.status ?? 'not run')} |||||||||||||`);
      continue;
    }
    const s = r.summary;
    const lim = results[sc.limit]?.status === 'ok' ? results[sc.limit].summary : null;
    const peer = sc.peer && results[sc.peer]?.status === 'ok' ? results[sc.peer].summary : null;
    L.push(
      `| ${sc.id} | ${fmtInt(s.cpuUsPerReq)} | ${fmtInt(lim?.cpuUsPerReq)} | ${lim?.cpuUsPerReq && s.cpuUsPerReq ? fmtX(s.cpuUsPerReq / lim.cpuUsPerReq) : '—'} | ${v(verdictOf(sc.id, 'server CPU'))} ` +
        `| ${fmtInt(s.rps)} | ${fmtInt(lim?.rps)} | ${fmtInt(peer?.rps)} | ${peer ? fmtX(s.rps / peer.rps) : '—'} | ${v(sc.peer ? verdictOf(sc.id, sc.peer) : null)} ` +
        `| ${fmtMs(s.p99)} | ${fmtMs(lim?.p99)} | ${lim?.p99 ? fmtX(s.p99 / lim.p99) : '—'} | ${v(verdictOf(sc.id, 'p99'))} |`,
    );
  }
  return L.join('\n');
}

/** Durable stores (and replicas) against the in-memory run, with PostgreSQL's CPU per execution. */
export function renderDurable(scenarios, results, targets) {
  const rows = scenarios.filter((sc) => !sc.beforeOf && sc.compare && results[sc.id]);
  if (!rows.length) return '';
  const L = ['| scenario | req/s | share of the compared run | target | verdict | p99 ms | flowd CPU µs/exec | PostgreSQL CPU µs/exec | executions/s per PostgreSQL core |', '|---|---:|---:|---:|---|---:|---:|---:|---:|'];
  for (const sc of rows) {
    const r = results[sc.id];
    const base = results[sc.compare]?.summary;
    if (r.status !== 'ok' || !r.summary) {
      L.push(`| ${sc.id} | ${cell(r.status)}: ${cell(String(r.reason ?? '').slice(0, 160))} ||||||||`);
      continue;
    }
    const s = r.summary;
    const t = targets.find((x) => x.scenario === sc.id && x.target.includes('PERSISTENCE'));
    L.push(
      `| ${sc.id} | ${fmtInt(s.rps)} | ${base ? `${fmtPct(s.rps / base.rps)} of ${sc.compare}` : '—'} | ${sc.minOfCompare != null ? `≥ ${fmtPct(sc.minOfCompare)}` : '—'} | ${t ? `**${t.verdict}**` : '—'} | ${fmtMs(s.p99)} | ${fmtInt(s.cpuUsPerReq)} | ${fmtInt(s.pgCpuUsPerReq)} | ${s.pgCpuUsPerReq ? fmtInt(1e6 / s.pgCpuUsPerReq) : '—'} |`,
    );
  }
  return L.join('\n');
}

/** Counting pass: transactions, statements, round trips and rows per durable execution, next to 0.1.0's. */
export function renderPgCounts(counts) {
  if (!counts?.length) return '';
  const L = [
    '| build | load | executions | transactions/exec | statements/exec | round trips/exec | rows inserted/exec | rows updated/exec |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
    `| 0.1.0 (issue 14) | 500 sequential | 500 | ${PG_REFERENCE_010.transactions} | — | ≥ ${PG_REFERENCE_010.transactions} | ${PG_REFERENCE_010.inserted} | ${PG_REFERENCE_010.updated} |`,
  ];
  for (const c of counts) {
    if (c.error) {
      L.push(`| ${c.build} | ${c.load} | — | ${cell(c.error)} ||||`);
      continue;
    }
    const per = (x) => (x == null || !c.executions ? '—' : (x / c.executions).toFixed(2));
    L.push(`| ${c.build} | ${c.load} | ${fmtInt(c.executions)} | ${per(c.transactions)} | ${per(c.statements)} | ${per(c.roundTrips)} | ${per(c.inserted)} | ${per(c.updated)} |`);
  }
  return L.join('\n');
}

/**
 * After ÷ before of the server CPU per response, round by round: the two builds run next to each other in a round,
 * under the same conditions, while conditions differ from round to round (on the benchmark VM one scenario's CPU
 * per response moved by up to 30 % between rounds). The median of these paired ratios is the verdict; each build's
 * own median is shown too.
 */
export function pairedCpuRatios(before, after) {
  const byRound = new Map(before.rounds.filter((r) => r.cpuUsPerReq != null).map((r) => [r.round, r.cpuUsPerReq]));
  return after.rounds.filter((r) => r.cpuUsPerReq != null && byRound.has(r.round)).map((r) => r.cpuUsPerReq / byRound.get(r.round));
}

/** Before/after: the same scenarios on a second build (FLOWD_BEFORE_DIST), in the same rounds. */
export function renderBeforeAfter(scenarios, results) {
  const twins = scenarios.filter((sc) => sc.beforeOf);
  if (!twins.length) return '';
  const L = [
    '| scenario | CPU µs/resp before | after | change (medians) | after ÷ before, per round | median of the rounds | rounds lower | req/s before | after | p99 ms before | after | CPU lower? |',
    '|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const b of twins) {
    const before = results[b.id];
    const after = results[b.beforeOf];
    if (before?.status !== 'ok' || after?.status !== 'ok' || !before.summary || !after.summary) {
      L.push(`| ${b.beforeOf} | ${cell(before?.status ?? '—')} | ${cell(after?.status ?? '—')} ||||||||||`);
      continue;
    }
    const x = before.summary;
    const y = after.summary;
    const d = (a, c) => (a && c != null ? `${c >= a ? '+' : '−'}${Math.abs((c / a - 1) * 100).toFixed(0)}%` : '—');
    const ratios = pairedCpuRatios(before, after);
    const sorted = [...ratios].sort((p, q) => p - q);
    const median = sorted.length === 0 ? null : sorted.length % 2 ? sorted[sorted.length >> 1] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
    const lower = median == null ? '—' : median < 1 ? '**yes**' : '**no**';
    L.push(
      `| ${b.beforeOf} | ${fmtInt(x.cpuUsPerReq)} | ${fmtInt(y.cpuUsPerReq)} | ${d(x.cpuUsPerReq, y.cpuUsPerReq)} | ${ratios.map((r) => r.toFixed(2)).join(', ')} | ${median == null ? '—' : `${median.toFixed(2)} (${d(1, median)})`} | ${ratios.filter((r) => r < 1).length}/${ratios.length} | ${fmtInt(x.rps)} | ${fmtInt(y.rps)} | ${fmtMs(x.p99)} | ${fmtMs(y.p99)} | ${lower} |`,
    );
  }
  return L.join('\n');
}
