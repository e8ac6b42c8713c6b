// Load generation with autocannon's programmatic API, plus exact latency percentiles.
//
// autocannon's own result has no p95 (it reports p50, p90, p97.5, p99 …), so the harness listens to its
// 'response' events and keeps every 2xx latency (ms, float) of the measured window in a typed array.
import autocannon from 'autocannon';

/** Percentile (0–100) of a sorted Float64Array, nearest-rank. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/**
 * One autocannon run. Returns
 * { ok2xx, non2xx, errors, timeouts, durationSec, rps, p50, p95, p99, max, mean, bytesPerResponse, statusCodes }.
 * `amount` (total requests) overrides `durationSec`. `onProgress(count)` is called on every response if given.
 */
export async function runLoad({
  url,
  method = 'POST',
  headers = {},
  body,
  connections = 50,
  durationSec = 10,
  amount,
  timeoutSec = 10,
  collectLatencies = true,
  onProgress,
}) {
  let lat = new Float64Array(1 << 16);
  let n = 0;
  let responses = 0;
  let ok2xx = 0;
  const opts = {
    url,
    method,
    headers,
    body,
    connections,
    pipelining: 1,
    timeout: timeoutSec,
    ...(amount ? { amount } : { duration: durationSec }),
  };
  const t0 = performance.now();
  const instance = autocannon(opts);
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    responses++;
    if (statusCode >= 200 && statusCode < 300) {
      ok2xx++;
      if (collectLatencies) {
        if (n === lat.length) {
          const bigger = new Float64Array(lat.length * 2);
          bigger.set(lat);
          lat = bigger;
        }
        lat[n++] = responseTime;
      }
    }
    if (onProgress) onProgress(responses);
  });
  const result = await instance;
  const wallSec = (performance.now() - t0) / 1000;
  const durationSec_ = result.duration > 0 ? result.duration : wallSec;
  const sorted = lat.subarray(0, n).sort();
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i];
  return {
    responses,
    sent: result.requests.sent ?? responses,
    ok2xx,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes: result.statusCodeStats,
    durationSec: durationSec_,
    rps: ok2xx / durationSec_,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: n ? sorted[n - 1] : null,
    mean: n ? sum / n : null,
    bytesPerResponse: result.requests.total > 0 ? result.throughput.total / result.requests.total : null,
    // Every 2xx latency, sorted (for mergeLoads; not meant for the report).
    latencies: sorted,
  };
}

/**
 * Several loads run at the same time (one per replica) as one: counts and req/s summed, percentiles over the merged
 * latencies. The result has no `latencies` (one load is passed through the same way).
 */
export function mergeLoads(loads) {
  const sumOf = (f) => loads.reduce((a, l) => a + (l[f] ?? 0), 0);
  const total = loads.reduce((a, l) => a + l.latencies.length, 0);
  const all = new Float64Array(total);
  let at = 0;
  for (const l of loads) {
    all.set(l.latencies, at);
    at += l.latencies.length;
  }
  all.sort();
  let sum = 0;
  for (let i = 0; i < total; i++) sum += all[i];
  const statusCodes = {};
  for (const l of loads) {
    for (const [code, v] of Object.entries(l.statusCodes ?? {})) statusCodes[code] = { count: (statusCodes[code]?.count ?? 0) + (v?.count ?? 0) };
  }
  const bytes = loads.filter((l) => l.bytesPerResponse != null);
  return {
    responses: sumOf('responses'),
    sent: sumOf('sent'),
    ok2xx: sumOf('ok2xx'),
    non2xx: sumOf('non2xx'),
    errors: sumOf('errors'),
    timeouts: sumOf('timeouts'),
    statusCodes,
    durationSec: Math.max(...loads.map((l) => l.durationSec)),
    rps: sumOf('rps'),
    p50: percentile(all, 50),
    p95: percentile(all, 95),
    p99: percentile(all, 99),
    max: total ? all[total - 1] : null,
    mean: total ? sum / total : null,
    bytesPerResponse: bytes.length ? bytes.reduce((a, l) => a + l.bytesPerResponse, 0) / bytes.length : null,
  };
}
