import type { Middleware } from '../engine/middleware.js';
import { TERMINAL_STATUSES, type PhaseRecord } from '../engine/record.js';
import { CIRCUIT_STATE_VALUES, type FlowdMetrics, type PhaseOutcome } from './metrics.js';

/**
 * The seed's monitoring points (a timer per execution, an active-flows gauge, a completions
 * counter) and the rest of flowd's metrics, written through the engine's middleware API.
 * Label values come only from loaded definitions and fixed enums. Updates go through the
 * memoised series (metrics.series): these hooks run several times per execution.
 */
export function createMetricsMiddleware(metrics: FlowdMetrics): Middleware {
  const { series } = metrics;
  return {
    name: 'metrics',
    onFlowStart(ctx) {
      series.activeExecutions.of(ctx.flow.name).inc();
    },
    onFlowEnd(ctx, record) {
      const flow = ctx.flow.name;
      series.activeExecutions.of(flow).dec();
      // Not ended here (a middleware threw before the body ran, or the lease went to another worker): not counted.
      if (!TERMINAL_STATUSES.has(record.status)) return;
      const outcome = record.recovered ? 'recovered' : record.status;
      series.executionsTotal.of(flow, outcome).inc();
      series.executionDuration.of(flow, outcome).observe((record.durationMs ?? 0) / 1000);
    },
    onPhaseEnd(ctx) {
      const { record } = ctx;
      const flow = ctx.execution.flow.name;
      series.phaseDuration.of(flow, record.id, phaseOutcome(record)).observe((record.durationMs ?? 0) / 1000);
      if (record.attempts > 0) series.phaseAttemptsTotal.of(flow, record.id).inc(record.attempts);
    },
    onRetry(event) {
      series.phaseRetriesTotal.of(event.execution.flow.name, event.phase.id).inc();
    },
    onCache(event) {
      series.cacheRequestsTotal.of(event.execution.flow.name, event.phase.id, event.hit ? 'hit' : 'miss').inc();
    },
    onCompensation(event) {
      const outcome = event.compensation.status === 'succeeded' ? 'succeeded' : 'failed';
      series.compensationsTotal.of(event.execution.flow.name, event.compensation.phase, outcome).inc();
    },
    onCircuitState(event) {
      const value = event.state === 'closed' ? CIRCUIT_STATE_VALUES.closed : event.state === 'half_open' ? CIRCUIT_STATE_VALUES.halfOpen : CIRCUIT_STATE_VALUES.open;
      series.circuitState.of(event.flow, event.component).set(value);
    },
  };
}

function phaseOutcome(record: PhaseRecord): PhaseOutcome {
  if (record.fallback === true) return 'fallback';
  if (record.cached === true) return 'cached';
  if (record.status === 'cancelled') return 'cancelled';
  return record.status === 'failed' ? 'failed' : 'succeeded';
}
