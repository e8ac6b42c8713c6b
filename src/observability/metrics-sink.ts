import type { ExecutionStartedEntry, JournalEntry, PhaseStartedEntry } from '../engine/journal/entries.js';
import type { Journal, JournalSink } from '../engine/journal/journal.js';
import type { Middleware } from '../engine/middleware.js';
import { CIRCUIT_STATE_VALUES, type ComponentCallOutcome, type FlowdMetrics, type PhaseOutcome } from './metrics.js';

/**
 * flowd's execution metrics, derived from journal entries as they are appended: the active-flows
 * gauge, executions by outcome and their duration, phase durations and attempts, retries, cache
 * lookups, compensations. Label values come only from loaded definitions and fixed enums; updates
 * go through memoised series (metrics.series).
 */
export function createMetricsSink(metrics: FlowdMetrics): JournalSink {
  const { series } = metrics;
  return {
    onEntry(journal: Journal, entry: JournalEntry) {
      switch (entry.type) {
        case 'run_started':
          series.activeExecutions.of(flowOf(journal)).inc();
          break;
        case 'phase_ended': {
          const started = journal.entries[entry.ref] as PhaseStartedEntry;
          const flow = flowOf(journal);
          series.phaseDuration.of(flow, started.phase, phaseOutcome(entry)).observe(entry.restored === true ? 0 : (entry.t - started.t) / 1000);
          if (entry.attempts > 0) series.phaseAttemptsTotal.of(flow, started.phase).inc(entry.attempts);
          // The one attempt that succeeded (failed ones are counted as they fail, below).
          if (started.component !== undefined && entry.status === 'succeeded' && entry.attempts > 0 && entry.fallback !== true && entry.restored !== true) {
            series.componentCallsTotal.of(flow, started.component, 'succeeded').inc();
          }
          break;
        }
        case 'attempt_failed': {
          if (entry.compensation !== undefined) break;
          const started = journal.entries[entry.ref] as PhaseStartedEntry;
          if (entry.retryInMs !== undefined) series.phaseRetriesTotal.of(flowOf(journal), started.phase).inc();
          if (started.component !== undefined) series.componentCallsTotal.of(flowOf(journal), started.component, callOutcome(entry.error.code)).inc();
          break;
        }
        case 'cache_checked':
          series.cacheRequestsTotal.of(flowOf(journal), (journal.entries[entry.ref] as PhaseStartedEntry).phase, entry.hit ? 'hit' : 'miss').inc();
          break;
        case 'compensation_ended': {
          const compensation = journal.entries[entry.ref];
          if (compensation?.type !== 'compensation_started') break;
          const phase = (journal.entries[compensation.ref] as PhaseStartedEntry).phase;
          series.compensationsTotal.of(flowOf(journal), phase, entry.status).inc();
          break;
        }
        case 'execution_finished': {
          const flow = flowOf(journal);
          series.activeExecutions.of(flow).dec();
          const recovered = journal.entries.some((candidate) => candidate.type === 'recovery_ended' && candidate.succeeded);
          const outcome = recovered ? 'recovered' : entry.status;
          series.executionsTotal.of(flow, outcome).inc();
          series.executionDuration.of(flow, outcome).observe((entry.t - runStart(journal)) / 1000);
          break;
        }
        case 'run_abandoned':
          // Not ended here: another worker carries on (and counts it when it ends).
          series.activeExecutions.of(flowOf(journal)).dec();
          break;
        default:
          break;
      }
    },
  };
}

/** Circuit state changes are the breaker's, not an execution's: they come through the middleware events. */
export function createCircuitMetricsMiddleware(metrics: FlowdMetrics): Middleware {
  return {
    name: 'circuit-metrics',
    onCircuitState(event) {
      const value = event.state === 'closed' ? CIRCUIT_STATE_VALUES.closed : event.state === 'half_open' ? CIRCUIT_STATE_VALUES.halfOpen : CIRCUIT_STATE_VALUES.open;
      metrics.series.circuitState.of(event.flow, event.component).set(value);
    },
  };
}

function flowOf(journal: Journal): string {
  return (journal.entries[0] as ExecutionStartedEntry).flow;
}

function runStart(journal: Journal): number {
  const entries = journal.entries;
  for (let i = entries.length - 1; i > 0; i--) {
    const entry = entries[i]!;
    if (entry.type === 'run_started') return entry.t;
  }
  return entries[0]!.t;
}

function callOutcome(code: string): ComponentCallOutcome {
  if (code === 'FLOWD_ERR_PHASE_TIMEOUT') return 'timeout';
  if (code === 'FLOWD_ERR_CIRCUIT_OPEN' || code === 'FLOWD_ERR_BULKHEAD_FULL') return 'rejected';
  return 'failed';
}

function phaseOutcome(entry: Extract<JournalEntry, { type: 'phase_ended' }>): PhaseOutcome {
  if (entry.fallback === true) return 'fallback';
  if (entry.cached === true) return 'cached';
  if (entry.status === 'cancelled') return 'cancelled';
  return entry.status === 'failed' ? 'failed' : 'succeeded';
}
