import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from './app.js';
import { parseAllowList } from './adapters/http/egress/index.js';
import type { ComponentAdapter } from './adapters/types.js';
import type { EnvConfig } from './config/env.js';
import type { FlowEngine } from './engine/flow-engine.js';
import type { Middleware } from './engine/middleware.js';
import { createMemoryPhaseCache } from './engine/phase-cache.js';
import { SecretStore } from './flows/secrets.js';
import { buildEngine, type BuiltEngine } from './library.js';
import { createCleaner } from './observability/cleaner.js';
import { createLogSink } from './observability/log-sink.js';
import { reportReloads } from './observability/reload-report.js';
import { createRootLogger } from './observability/logger.js';
import { createCircuitMetricsMiddleware, createMetricsSink } from './observability/metrics-sink.js';
import { createSensitiveFieldMatcher, parseRedactFields } from './observability/sensitive-fields.js';
import { createTracing } from './observability/tracing/tracing.js';
import { OPENAPI_INFO } from './http/openapi.js';
import { setExpressionIsolation, setExpressionLimits, startExpressionWorkers } from './expressions/index.js';
import { buildMetricsApp } from './observability/metrics-app.js';
import { registerWaitingGauge } from './observability/waiting-gauge.js';
import { createMetrics, type FlowdMetrics } from './observability/metrics.js';
import type { AppState } from './http/app-deps.js';
import type { ExecutionStore } from './store/execution-store.js';
import { createStore } from './store/create-store.js';
import { createDurableWriter, startDurable, type DurableParts } from './durable/durable-parts.js';
import { executionLinks } from './durable/execution-links.js';
import { endOfRunObserver, PersistencePolicy } from './durable/persistence-policy.js';
import { durableSettings } from './durable/settings.js';
import { ExecutionReads } from './executions/execution-reads.js';
import { ExecutionService } from './executions/execution-service.js';
import { QueueAdmission } from './executions/queue-admission.js';
import { RecentExecutions } from './executions/recent.js';
import { startScheduler } from './schedules/start-scheduler.js';

export interface ServiceOptions {
  /** Extra middleware (after the built-in ones). */
  middleware?: readonly Middleware[];
  /** Custom adapters, in addition to those named in ADAPTER_MODULES. */
  adapters?: readonly ComponentAdapter<never>[];
  /** Captures log lines instead of stdout (tests). */
  logDestination?: NodeJS.WritableStream;
  env?: Readonly<Record<string, string | undefined>>;
  /** Start with no flows when they have problems, and report them until a reload fixes them (`flowd dev`). */
  tolerateInvalidFlows?: boolean;
}

/** The whole service, wired but not listening: the API app, the metrics app and what they share. */
export interface Service {
  readonly config: EnvConfig;
  readonly app: FastifyInstance;
  readonly metricsApp: FastifyInstance;
  readonly built: BuiltEngine;
  readonly store: ExecutionStore;
  /** How executions run (in memory, durably, queued) and the in-flight bound. */
  readonly executions: ExecutionService;
  /** Records, logs and lists of executions, wherever they are. */
  readonly reads: ExecutionReads;
  /** Leases, leased runs, the work queue, retention. */
  readonly durable: DurableParts;
  readonly metrics: FlowdMetrics;
  readonly logger: Logger;
  readonly state: AppState;
  close(): Promise<void>;
}

export async function createService(config: EnvConfig, options: ServiceOptions = {}): Promise<Service> {
  const secrets = new SecretStore();
  const logger = createRootLogger({
    level: config.LOG_LEVEL,
    pretty: config.LOG_PRETTY,
    secrets,
    redactFields: parseRedactFields(config.REDACT_FIELDS),
    ...(options.logDestination === undefined ? {} : { destination: options.logDestination }),
  });
  const metrics = createMetrics();
  // STORE: memory | sqlite (DATA_DIR, the default) | postgres (DATABASE_URL); migrated on open.
  const store: ExecutionStore = await createStore(config, { onPoolError: (error) => logger.error({ err: error }, 'database connection error') });
  const state: AppState = { ready: false, shuttingDown: false };
  // Every value that leaves the process (answers, stored rows, log lines, callbacks): secrets masked, sensitive fields redacted.
  const clean = createCleaner(secrets, createSensitiveFieldMatcher(parseRedactFields(config.REDACT_FIELDS)));
  const settings = durableSettings(config);
  // OpenTelemetry spans from the journal, only when an OTLP endpoint is set (docs/tracing.md).
  const tracing = createTracing(config, { version: OPENAPI_INFO.version, mask: (text) => secrets.maskText(text) });
  const late: { engine?: FlowEngine } = {};
  const writer = createDurableWriter({ store, settings, logger, clean, onCancelRequested: (id) => late.engine?.cancel(id, 'cancelled through the API') });
  const recent = new RecentExecutions(config.EXECUTIONS_MAX);
  const policy = new PersistencePolicy(config.PERSISTENCE);
  let wake = (): void => {};
  // The queue bounds, one for every starter of queued work: API requests, triggers, schedules.
  const admission = new QueueAdmission({
    store,
    max: config.QUEUE_MAX,
    maxPerTenant: config.QUEUE_MAX_PER_TENANT,
    maxWaitingPerTenant: config.WAITING_MAX_PER_TENANT,
    onRefused: (refusal) => metrics.queueRefusals.inc(refusal),
  });
  const links = executionLinks({
    engine: () => late.engine!,
    store,
    admission,
    recent,
    leaseMs: settings.leaseMs,
    idempotencyTtlMs: settings.idempotencyTtlMs,
    clean,
    wake: () => wake(),
  });
  setExpressionLimits({ timeoutMs: config.EXPRESSION_TIMEOUT_MS });
  setExpressionIsolation({ workers: config.EXPRESSION_WORKERS });
  startExpressionWorkers();
  let built: BuiltEngine;
  try {
    const customAdapters = [...(await loadAdapterModules(config.ADAPTER_MODULES)), ...(options.adapters ?? [])];
    built = await buildEngine({
      flowsDir: config.FLOWS_DIR,
      tolerateInvalidFlows: options.tolerateInvalidFlows,
      adapters: customAdapters,
      egressAllow: parseAllowList(config.EGRESS_ALLOW),
      httpConnectionsPerOrigin: config.HTTP_CONNECTIONS_PER_ORIGIN,
      env: options.env ?? process.env,
      secrets,
      logger,
      journalSinks: [createMetricsSink(metrics), createLogSink(logger), ...(tracing === undefined ? [] : [tracing.sink])],
      ...(tracing === undefined ? {} : { traceSource: tracing.traceSource }),
      capture: { policy: config.CAPTURE, maxBytes: config.CAPTURE_MAX_BYTES },
      outputLimits: { maxPhaseOutputBytes: config.MAX_PHASE_OUTPUT_BYTES, maxRecordBytes: config.MAX_RECORD_BYTES },
      middleware: [
        createCircuitMetricsMiddleware(metrics),
        ...(options.middleware ?? []),
      ],
      cache: createMemoryPhaseCache({ maxEntries: config.CACHE_MAX_ENTRIES }),
      observer: endOfRunObserver({ policy, store, recent, clean, logger }),
      startTriggered: (flow, input, parent) => links.startTriggered(flow, input, parent),
      findSucceeded: links.findSucceeded,
      maxMapItems: config.MAX_MAP_ITEMS,
      maxSubflowDepth: config.MAX_SUBFLOW_DEPTH,
      waitInlineMs: config.WAIT_INLINE_MS,
      callbackUrl: callbackUrlOf(config),
    });
  } catch (error) {
    await tracing?.shutdown();
    writer.leases.close();
    await writer.callbacks.close();
    await store.close();
    throw error;
  }
  const engine = built.engine;
  late.engine = engine;
  const flows = built.catalog;
  const durable = startDurable({ writer, engine, flows, settings, paused: () => state.shuttingDown });
  wake = () => durable.queue.wake();
  const reads = new ExecutionReads({ running: (id) => built.engine.getRunning(id), recent, store, clean });
  const executions = new ExecutionService({
    engine,
    flows,
    store,
    reads,
    policy,
    runs: durable.runs,
    queue: durable.queue,
    owner: durable.owner,
    leaseMs: settings.leaseMs,
    idempotencyTtlMs: settings.idempotencyTtlMs,
    maxInflight: config.MAX_INFLIGHT_EXECUTIONS,
    clean,
    admission,
  });
  metrics.flowsLoaded.set(flows.size);
  registerWaitingGauge(metrics.registry, () => store.countWaiting(), (error) => logger.warn({ err: error }, 'could not count waiting executions'));
  // Reloads (SIGHUP, POST /catalog/reload, FLOWS_WATCH): logged and counted; new definitions may have work queued.
  reportReloads(built.reloader, flows, { logger, metrics });
  built.reloader.onReload((result) => result.outcome === 'applied' && durable.queue.wake());
  if (config.FLOWS_WATCH) built.reloader.watch(config.FLOWS_DIR, (error) => logger.warn({ err: error, dir: config.FLOWS_DIR }, 'cannot watch the flows directory; trying again'));
  const scheduler = startScheduler({ config, flows, store, admission, engine, settings, clean, logger, wake: () => durable.queue.wake() });
  const app = await buildApp({ config, engine, flows, reloader: built.reloader, store, metrics, secrets, logger, state, executions, reads, durable, clean, schedules: scheduler === undefined ? undefined : (flow) => scheduler.scheduler.view(flow) });
  const metricsApp = buildMetricsApp(metrics);
  return {
    config,
    app,
    metricsApp,
    built,
    store,
    executions,
    reads,
    durable,
    metrics,
    logger,
    state,
    async close() {
      state.shuttingDown = true;
      built.reloader.close();
      await scheduler?.stop();
      await app.close();
      await metricsApp.close();
      // Leased executions still running are aborted and their leases released (resumed elsewhere).
      await durable.close();
      await built.engine.close();
      await store.close();
      // Spans still queued are exported before the process goes.
      await tracing?.shutdown().catch((error: unknown) => logger.warn({ err: error }, 'could not export the last spans'));
    },
  };
}

/** `callback.url` of a callback phase: PUBLIC_URL (how callers reach this service), else this host and port. */
function callbackUrlOf(config: EnvConfig): (token: string) => string {
  const base = (config.PUBLIC_URL ?? `http://${config.HOST === '0.0.0.0' || config.HOST === '::' ? 'localhost' : config.HOST}:${config.PORT}`).replace(/\/+$/, '');
  return (token) => `${base}/callbacks/${token}`;
}

/** Custom adapters named in ADAPTER_MODULES: each module's default export (or `adapters` array). */
async function loadAdapterModules(list: string): Promise<ComponentAdapter<never>[]> {
  const adapters: ComponentAdapter<never>[] = [];
  for (const specifier of list.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const url = specifier.startsWith('.') || specifier.startsWith('/') ? new URL(specifier, `file://${process.cwd()}/`).href : specifier;
    const loaded = (await import(url)) as { default?: unknown; adapters?: unknown };
    const exported = loaded.adapters ?? loaded.default;
    for (const adapter of Array.isArray(exported) ? exported : [exported]) adapters.push(adapter as ComponentAdapter<never>);
  }
  return adapters;
}
