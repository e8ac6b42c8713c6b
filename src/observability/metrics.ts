import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { TERMINAL_STATUS_LIST } from '../engine/record.js';
import {
  counterSeries,
  gaugeSeries,
  histogramSeries,
  type CounterSeries,
  type GaugeSeries,
  type HistogramSeries,
  type SeriesCache,
} from './series-cache.js';

/**
 * Every flowd metric name. Dashboards, alerts and the engine → metrics subscribers code
 * against these, so a rename is a breaking change.
 */
export const METRIC_NAMES = [
  'flowd_executions_total',
  'flowd_execution_duration_seconds',
  'flowd_active_executions',
  'flowd_phase_duration_seconds',
  'flowd_phase_attempts_total',
  'flowd_phase_retries_total',
  'flowd_cache_requests_total',
  'flowd_circuit_state',
  'flowd_compensations_total',
  'flowd_component_calls_total',
  'flowd_http_requests_total',
  'flowd_http_request_duration_seconds',
  'flowd_flows_loaded',
  'flowd_flow_reloads_total',
  'flowd_queue_refusals_total',
] as const;

export type MetricName = (typeof METRIC_NAMES)[number];

/** Label values for `outcome` on execution metrics: the execution's final status, or `recovered`. */
export const EXECUTION_OUTCOMES = [...TERMINAL_STATUS_LIST, 'recovered'] as const;
export type ExecutionOutcome = (typeof EXECUTION_OUTCOMES)[number];

/** `outcome` of `flowd_component_calls_total`: `rejected` is a call the breaker or bulkhead refused before it was sent. */
export const COMPONENT_CALL_OUTCOMES = ['succeeded', 'failed', 'timeout', 'rejected'] as const;
export type ComponentCallOutcome = (typeof COMPONENT_CALL_OUTCOMES)[number];

export const PHASE_OUTCOMES = ['succeeded', 'failed', 'fallback', 'cached', 'skipped', 'cancelled'] as const;
export type PhaseOutcome = (typeof PHASE_OUTCOMES)[number];

/** Values of `flowd_circuit_state`; numeric because a gauge is what Grafana can colour over time. */
export const CIRCUIT_STATE_VALUES = { closed: 0, open: 1, halfOpen: 2 } as const;

/** `route` label for requests that matched no route: raw URLs would explode cardinality. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Sub-millisecond (cache hits, in-memory phases) up to tens of seconds (slow upstreams
 * near their timeouts), so p99 stays readable at both ends.
 */
export const DURATION_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

/** Label names, declared once for both a metric and its series cache, which must agree on order. */
const FLOW = ['flow'] as const;
const FLOW_OUTCOME = ['flow', 'outcome'] as const;
const FLOW_PHASE = ['flow', 'phase'] as const;
const FLOW_PHASE_OUTCOME = ['flow', 'phase', 'outcome'] as const;
const FLOW_PHASE_RESULT = ['flow', 'phase', 'result'] as const;
const FLOW_COMPONENT = ['flow', 'component'] as const;
const FLOW_COMPONENT_OUTCOME = ['flow', 'component', 'outcome'] as const;
const HTTP_REQUEST = ['method', 'route', 'status_code'] as const;

export interface CreateMetricsOptions {
  /** Prefix for the default Node process metrics; flowd's own names above are fixed. */
  prefix?: string;
}

export interface FlowdMetrics {
  readonly registry: Registry;
  readonly executionsTotal: Counter<'flow' | 'outcome'>;
  readonly executionDuration: Histogram<'flow' | 'outcome'>;
  readonly activeExecutions: Gauge<'flow'>;
  readonly phaseDuration: Histogram<'flow' | 'phase' | 'outcome'>;
  readonly phaseAttemptsTotal: Counter<'flow' | 'phase'>;
  readonly phaseRetriesTotal: Counter<'flow' | 'phase'>;
  readonly cacheRequestsTotal: Counter<'flow' | 'phase' | 'result'>;
  readonly circuitState: Gauge<'flow' | 'component'>;
  readonly compensationsTotal: Counter<'flow' | 'phase' | 'outcome'>;
  readonly componentCallsTotal: Counter<'flow' | 'component' | 'outcome'>;
  readonly httpRequestsTotal: Counter<'method' | 'route' | 'status_code'>;
  readonly httpRequestDuration: Histogram<'method' | 'route' | 'status_code'>;
  readonly flowsLoaded: Gauge;
  readonly flowReloads: Counter<'outcome'>;
  /** Queued executions the queue bounds refused, by who asked (`api`, `trigger`, `schedule`) and `bound` (`tenant`, `total`). */
  readonly queueRefusals: Counter<'source' | 'bound'>;
  /** The same metrics for the hot path: label values in, a memoised series out. */
  readonly series: FlowdSeries;
  /** The API's per-request metrics (the onResponse hook), without building a label object per request. */
  recordHttpRequest(method: string, route: string, statusCode: number, durationMs: number): void;
}

/** Series caches of the metrics updated per execution, phase or request; values in label-name order. */
export interface FlowdSeries {
  readonly executionsTotal: SeriesCache<CounterSeries, [flow: string, outcome: string]>;
  readonly executionDuration: SeriesCache<HistogramSeries, [flow: string, outcome: string]>;
  readonly activeExecutions: SeriesCache<GaugeSeries, [flow: string]>;
  readonly phaseDuration: SeriesCache<HistogramSeries, [flow: string, phase: string, outcome: PhaseOutcome]>;
  readonly phaseAttemptsTotal: SeriesCache<CounterSeries, [flow: string, phase: string]>;
  readonly phaseRetriesTotal: SeriesCache<CounterSeries, [flow: string, phase: string]>;
  readonly cacheRequestsTotal: SeriesCache<CounterSeries, [flow: string, phase: string, result: 'hit' | 'miss']>;
  readonly circuitState: SeriesCache<GaugeSeries, [flow: string, component: string]>;
  readonly compensationsTotal: SeriesCache<CounterSeries, [flow: string, phase: string, outcome: 'succeeded' | 'failed']>;
  readonly componentCallsTotal: SeriesCache<CounterSeries, [flow: string, component: string, outcome: ComponentCallOutcome]>;
  readonly httpRequestsTotal: SeriesCache<CounterSeries, [method: string, route: string, statusCode: number]>;
  readonly httpRequestDuration: SeriesCache<HistogramSeries, [method: string, route: string, statusCode: number]>;
}

/**
 * Builds a fresh registry per call (never prom-client's global one) so tests and several
 * apps in one process never collide on "metric already registered".
 */
export function createMetrics(options: CreateMetricsOptions = {}): FlowdMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: options.prefix ?? 'flowd_' });
  const registers = [registry];
  const buckets = [...DURATION_BUCKETS];

  const metrics = {
    registry,
    executionsTotal: new Counter({
      name: 'flowd_executions_total',
      help: 'Finished flow executions by final status',
      labelNames: FLOW_OUTCOME,
      registers,
    }),
    executionDuration: new Histogram({
      name: 'flowd_execution_duration_seconds',
      help: 'Flow execution time from start to final status',
      labelNames: FLOW_OUTCOME,
      buckets,
      registers,
    }),
    activeExecutions: new Gauge({
      name: 'flowd_active_executions',
      help: 'Flow executions currently running in this process',
      labelNames: FLOW,
      registers,
    }),
    phaseDuration: new Histogram({
      name: 'flowd_phase_duration_seconds',
      help: 'Phase time including retries, by phase outcome',
      labelNames: FLOW_PHASE_OUTCOME,
      buckets,
      registers,
    }),
    phaseAttemptsTotal: new Counter({
      name: 'flowd_phase_attempts_total',
      help: 'Phase attempts, first tries and retries alike',
      labelNames: FLOW_PHASE,
      registers,
    }),
    phaseRetriesTotal: new Counter({
      name: 'flowd_phase_retries_total',
      help: 'Phase attempts that were retries',
      labelNames: FLOW_PHASE,
      registers,
    }),
    cacheRequestsTotal: new Counter({
      name: 'flowd_cache_requests_total',
      help: 'Phase cache lookups by result (hit or miss)',
      labelNames: FLOW_PHASE_RESULT,
      registers,
    }),
    circuitState: new Gauge({
      name: 'flowd_circuit_state',
      help: 'Circuit breaker state per component: 0 closed, 1 open, 2 half-open',
      labelNames: FLOW_COMPONENT,
      registers,
    }),
    compensationsTotal: new Counter({
      name: 'flowd_compensations_total',
      help: 'Compensation runs by outcome (succeeded or failed)',
      labelNames: FLOW_PHASE_OUTCOME,
      registers,
    }),
    componentCallsTotal: new Counter({
      name: 'flowd_component_calls_total',
      help: 'Attempts of call phases by component (any adapter: http, sql, redis, …) and outcome',
      labelNames: FLOW_COMPONENT_OUTCOME,
      registers,
    }),
    httpRequestsTotal: new Counter({
      name: 'flowd_http_requests_total',
      help: 'API requests by route template and status code',
      labelNames: HTTP_REQUEST,
      registers,
    }),
    httpRequestDuration: new Histogram({
      name: 'flowd_http_request_duration_seconds',
      help: 'API request time by route template and status code',
      labelNames: HTTP_REQUEST,
      buckets,
      registers,
    }),
    flowsLoaded: new Gauge({
      name: 'flowd_flows_loaded',
      help: 'Flows currently loaded and compiled',
      registers,
    }),
    flowReloads: new Counter({
      name: 'flowd_flow_reloads_total',
      help: 'Reloads of the flows after start, by outcome (applied, unchanged, rejected)',
      labelNames: ['outcome'],
      registers,
    }),
    queueRefusals: new Counter({
      name: 'flowd_queue_refusals_total',
      help: 'Executions the queue and waiting bounds refused (QUEUE_MAX_PER_TENANT: bound tenant; QUEUE_MAX: bound total; WAITING_MAX_PER_TENANT: bound waiting), by source (api, trigger, schedule)',
      labelNames: ['source', 'bound'],
      registers,
    }),
  };
  const series: FlowdSeries = {
    executionsTotal: counterSeries(metrics.executionsTotal, FLOW_OUTCOME),
    executionDuration: histogramSeries(metrics.executionDuration, FLOW_OUTCOME),
    activeExecutions: gaugeSeries(metrics.activeExecutions, FLOW),
    phaseDuration: histogramSeries(metrics.phaseDuration, FLOW_PHASE_OUTCOME),
    phaseAttemptsTotal: counterSeries(metrics.phaseAttemptsTotal, FLOW_PHASE),
    phaseRetriesTotal: counterSeries(metrics.phaseRetriesTotal, FLOW_PHASE),
    cacheRequestsTotal: counterSeries(metrics.cacheRequestsTotal, FLOW_PHASE_RESULT),
    circuitState: gaugeSeries(metrics.circuitState, FLOW_COMPONENT),
    compensationsTotal: counterSeries(metrics.compensationsTotal, FLOW_PHASE_OUTCOME),
    componentCallsTotal: counterSeries(metrics.componentCallsTotal, FLOW_COMPONENT_OUTCOME),
    httpRequestsTotal: counterSeries(metrics.httpRequestsTotal, HTTP_REQUEST),
    httpRequestDuration: histogramSeries(metrics.httpRequestDuration, HTTP_REQUEST),
  };
  return {
    ...metrics,
    series,
    recordHttpRequest(method, route, statusCode, durationMs) {
      series.httpRequestsTotal.of(method, route, statusCode).inc();
      series.httpRequestDuration.of(method, route, statusCode).observe(durationMs / 1000);
    },
  };
}
