/**
 * The seed's "Advanced Flow Example" with flowd's library API:
 *
 *   advanced_config = { "retry_policy": { "max_attempts": 3, "backoff_factor": 2.0 },
 *                       "timeout_settings": { "phase1_timeout": 30, "phase2_timeout": 60 } }
 *   flow_manager = FlowManager(advanced_config)
 *   async with flow_manager.execution_context() as ctx:
 *       ctx.add_middleware(LoggingMiddleware()); ctx.add_middleware(MetricsMiddleware())
 *       result = await ctx.execute_flow(flow_name="complex_flow", input_data=request_data,
 *                                       options={ "enable_caching": True, "parallel_execution": True })
 *
 * In flowd the configuration belongs to the flow definitions: `applyConfig` turns the seed's
 * config into `defaults.retry_policy` and each phase's `timeout_ms` (a deadline over all of the
 * phase's attempts). Middleware is given when the engine is built (it is composed once, not per
 * call); per-call options are the third argument of `execute`. The two middleware below are the
 * seed's LoggingMiddleware and MetricsMiddleware written against the `Middleware` API (the
 * service uses the built-in ones from src/observability in the same way).
 *
 * Run it: npx tsx examples/advanced.ts
 */
import { pathToFileURL } from 'node:url';
import {
  buildEngine,
  type CreateEngineOptions,
  type ExecutionRecord,
  type FlowEngine,
  type Middleware,
  type RetryPolicyDefinition,
} from '../src/index.js'; // in your project: from 'flowd'

/** The seed's advanced configuration. Timeouts are in seconds, keyed `<phase id>_timeout`. */
export interface AdvancedConfig {
  readonly retry_policy?: RetryPolicyDefinition;
  readonly timeout_settings?: Readonly<Record<string, number>>;
}

type Definition = Record<string, unknown> & { phases: Record<string, unknown>[]; defaults?: Record<string, unknown> };

/** Applies the config to a flow definition: retry policy as the flow default, per-phase deadlines. */
export function applyConfig(definition: Definition, config: AdvancedConfig): Definition {
  const timeouts = config.timeout_settings ?? {};
  const phases = definition.phases.map((phase) => {
    const seconds = timeouts[`${String(phase['id'])}_timeout`];
    return seconds === undefined ? phase : { ...phase, timeout_ms: Math.round(seconds * 1000) };
  });
  const defaults = { ...definition.defaults, ...(config.retry_policy === undefined ? {} : { retry_policy: { ...(definition.defaults?.['retry_policy'] as object | undefined), ...config.retry_policy } }) };
  return { ...definition, defaults, phases };
}

/** `FlowManager(advanced_config)`: an engine whose flows carry the config. */
export async function createFlowManager(
  config: AdvancedConfig,
  options: Omit<CreateEngineOptions, 'flows'> & { flows: readonly Definition[] },
): Promise<FlowEngine> {
  // A timeout for a phase no flow has is a typo: say so instead of silently ignoring it.
  const known = new Set(options.flows.flatMap((flow) => flow.phases.map((phase) => `${String(phase['id'])}_timeout`)));
  const unknown = Object.keys(config.timeout_settings ?? {}).filter((key) => !known.has(key));
  if (unknown.length > 0) throw new Error(`timeout_settings for phases no flow has: ${unknown.join(', ')}`);
  const { engine } = await buildEngine({ ...options, flows: options.flows.map((flow) => applyConfig(flow, config)) });
  return engine;
}

/**
 * complex_flow: `phase1` looks the account up (cached per account for a minute), `phase2` prices
 * the request, then `enrich` asks two services at once (a parallel block) and the results are
 * combined. `api` is the component they all call: a mock by default, an `http` component in the
 * tests. (A deadline — `timeout_ms` — belongs to call phases; a parallel block is bounded by its
 * phases' deadlines and the flow's.)
 */
export function complexFlow(api: Record<string, unknown> = defaultApi): Definition {
  return {
    name: 'complex_flow',
    input: { type: 'object', required: ['account'], properties: { account: { type: 'string' } } },
    components: { api },
    phases: [
      {
        id: 'phase1',
        component: 'api',
        request: { method: 'GET', path: "{% '/accounts/' & input.account %}" },
        output: '{% result.body %}',
        cache: { ttl_ms: 60_000, key: '{% input.account %}' },
      },
      {
        id: 'phase2',
        component: 'api',
        request: { method: 'POST', path: '/quotes', body: { account: '{% input.account %}', plan: '{% phases.phase1.plan %}' } },
        output: '{% result.body %}',
      },
      {
        id: 'enrich',
        parallel: {
          risk: [{ id: 'risk', component: 'api', request: { method: 'GET', path: '/risk' }, output: '{% result.body %}' }],
          offers: [{ id: 'offers', component: 'api', request: { method: 'GET', path: '/offers' }, output: '{% result.body %}' }],
        },
      },
    ],
    output: "{% {'account': phases.phase1, 'quote': phases.phase2, 'risk': phases.enrich.risk, 'offers': phases.enrich.offers} %}",
  };
}

const defaultApi = {
  adapter: 'mock',
  latency_ms: 5,
  responses: {
    'GET /risk': { body: { score: 0.1 } },
    'GET /offers': { body: ['upgrade'] },
    'POST /quotes': { body: { price: 42 } },
    default: { body: "{% {'id': $substringAfter(request.path, '/accounts/'), 'plan': 'pro'} %}" },
  },
};

/** The seed's LoggingMiddleware: one line per execution and per phase, one per retry. */
export function loggingMiddleware(log: (line: string) => void): Middleware {
  return {
    name: 'example-logging',
    async flow(ctx, next) {
      log(`start ${ctx.flow.name} ${ctx.executionId}`);
      const record = await next();
      log(`end ${ctx.flow.name} ${record.status} in ${record.durationMs ?? 0} ms`);
      return record;
    },
    async phase(ctx, next) {
      try {
        return await next();
      } finally {
        const r = ctx.record;
        log(`phase ${r.id} ${r.status} attempts=${r.attempts}${r.cached === true ? ' cached' : ''}`);
      }
    },
    onRetry(event) {
      log(`retry ${event.phase.id} after attempt ${event.attempt} (${event.error.code}) in ${event.delayMs} ms`);
    },
  };
}

/** The seed's MetricsMiddleware / performance_monitor: a timer, an active-flows gauge, counters. */
export interface ExampleMetrics {
  activeFlows: number;
  flowCompletions: Record<string, number>;
  flowExecutionMs: number[];
  retries: number;
  cacheHits: number;
  cacheMisses: number;
}

export function metricsMiddleware(metrics: ExampleMetrics): Middleware {
  return {
    name: 'example-metrics',
    async flow(_ctx, next) {
      metrics.activeFlows += 1;
      const started = performance.now();
      try {
        const record = await next();
        metrics.flowCompletions[record.status] = (metrics.flowCompletions[record.status] ?? 0) + 1;
        return record;
      } finally {
        metrics.flowExecutionMs.push(performance.now() - started);
        metrics.activeFlows -= 1;
      }
    },
    onRetry() {
      metrics.retries += 1;
    },
    onCache(event) {
      if (event.hit) metrics.cacheHits += 1;
      else metrics.cacheMisses += 1;
    },
  };
}

export function newMetrics(): ExampleMetrics {
  return { activeFlows: 0, flowCompletions: {}, flowExecutionMs: [], retries: 0, cacheHits: 0, cacheMisses: 0 };
}

export const advancedConfig: AdvancedConfig = {
  retry_policy: { max_attempts: 3, backoff_factor: 2 },
  timeout_settings: { phase1_timeout: 30, phase2_timeout: 60 },
};

export async function main(log: (line: string) => void = console.log): Promise<{ record: ExecutionRecord; metrics: ExampleMetrics }> {
  const metrics = newMetrics();
  const engine = await createFlowManager(advancedConfig, {
    flows: [complexFlow()],
    middleware: [loggingMiddleware(log), metricsMiddleware(metrics)],
  });
  try {
    const record = await engine.execute('complex_flow', { account: 'acc-7' }, { enableCaching: true, parallelExecution: true });
    log(`output: ${JSON.stringify(record.output)}`);
    return { record, metrics };
  } finally {
    await engine.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
