import type { FlowdMetrics } from './metrics.js';

/** What this process has measured for one flow, read from its own metrics registry. */
export interface FlowFigures {
  readonly executions: number;
  readonly byOutcome: Readonly<Record<string, number>>;
  /** Executions that did not succeed (recovered ones included), over all executions. */
  readonly errorRatio: number;
  /** 95th percentile of execution time in ms, interpolated within histogram buckets as Prometheus does. */
  readonly p95Ms: number | undefined;
}

export async function readFlowFigures(metrics: FlowdMetrics, flow: string): Promise<FlowFigures> {
  const byOutcome: Record<string, number> = {};
  for (const value of (await metrics.executionsTotal.get()).values) {
    if (value.labels.flow !== flow) continue;
    const outcome = String(value.labels.outcome);
    byOutcome[outcome] = (byOutcome[outcome] ?? 0) + value.value;
  }
  const executions = Object.values(byOutcome).reduce((sum, count) => sum + count, 0);
  const failed = executions - (byOutcome['succeeded'] ?? 0);

  // Cumulative bucket counts summed over every outcome of this flow.
  const buckets = new Map<number, number>();
  for (const value of (await metrics.executionDuration.get()).values) {
    if (value.labels.flow !== flow || value.metricName !== 'flowd_execution_duration_seconds_bucket') continue;
    const bound = (value.labels as { le?: string | number }).le;
    const le = bound === '+Inf' ? Infinity : Number(bound);
    buckets.set(le, (buckets.get(le) ?? 0) + value.value);
  }
  return {
    executions,
    byOutcome,
    errorRatio: executions === 0 ? 0 : failed / executions,
    p95Ms: executions === 0 ? undefined : quantileMs(0.95, [...buckets.entries()].sort((a, b) => a[0] - b[0])),
  };
}

/** `histogram_quantile` over cumulative `[le, count]` buckets; the result in ms. */
export function quantileMs(q: number, buckets: readonly (readonly [number, number])[]): number | undefined {
  const total = buckets[buckets.length - 1]?.[1] ?? 0;
  if (total === 0) return undefined;
  const rank = q * total;
  let previousLe = 0;
  let previousCount = 0;
  for (const [le, count] of buckets) {
    if (count >= rank) {
      // Beyond the last finite bucket Prometheus answers with that bucket's bound.
      if (!Number.isFinite(le)) return previousLe * 1000;
      const share = count === previousCount ? 0 : (rank - previousCount) / (count - previousCount);
      return (previousLe + (le - previousLe) * share) * 1000;
    }
    previousLe = le;
    previousCount = count;
  }
  return previousLe * 1000;
}
