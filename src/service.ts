import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from './app.js';
import { parseAllowList } from './adapters/http/egress/index.js';
import type { ComponentAdapter } from './adapters/types.js';
import type { EnvConfig } from './config/env.js';
import type { Middleware } from './engine/middleware.js';
import type { ExecutionObserver } from './engine/runtime.js';
import { createMemoryPhaseCache } from './engine/phase-cache.js';
import { SecretStore } from './flows/secrets.js';
import { buildEngine, type BuiltEngine } from './library.js';
import { CheckpointRecorder } from './retry/checkpoint-recorder.js';
import { CapturingLogger } from './observability/execution-log.js';
import { createLoggingMiddleware } from './observability/logging-middleware.js';
import { createRootLogger } from './observability/logger.js';
import { createSensitiveFieldMatcher, parseRedactFields, redactSensitive } from './observability/sensitive-fields.js';
import { createOutputLimitsMiddleware } from './limits/output-limits.js';
import { setExpressionIsolation, setExpressionLimits, startExpressionWorkers } from './expressions/index.js';
import { buildMetricsApp } from './observability/metrics-app.js';
import { createMetricsMiddleware } from './observability/metrics-middleware.js';
import { createMetrics, type FlowdMetrics } from './observability/metrics.js';
import type { AppState } from './http/app-deps.js';
import type { ExecutionStore } from './store/execution-store.js';
import { createStore } from './store/create-store.js';
import { Durable, durableSettings } from './durable/durable.js';

export interface ServiceOptions {
  /** Extra middleware (after the built-in logging and metrics). */
  middleware?: readonly Middleware[];
  /** Custom adapters, in addition to those named in ADAPTER_MODULES. */
  adapters?: readonly ComponentAdapter<never>[];
  /** Captures log lines instead of stdout (tests). */
  logDestination?: NodeJS.WritableStream;
  env?: Readonly<Record<string, string | undefined>>;
}

/** The whole service, wired but not listening: the API app, the metrics app and what they share. */
export interface Service {
  readonly config: EnvConfig;
  readonly app: FastifyInstance;
  readonly metricsApp: FastifyInstance;
  readonly built: BuiltEngine;
  readonly store: ExecutionStore;
  /** Durable executions: async queue, leases, idempotency, persistence policy, retention. */
  readonly durable: Durable;
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
  const isSensitive = createSensitiveFieldMatcher(parseRedactFields(config.REDACT_FIELDS));
  const durable = new Durable({
    store,
    settings: durableSettings(config),
    logger,
    secrets,
    state,
    // The whole stored record, not only its input: error messages (record and phases) and outputs may embed upstream JSON.
    storedRecord: (record) => redactSensitive(secrets.mask(record), isSensitive),
    redactInput: (input) => redactSensitive(input, isSensitive),
  });
  // Stored and served records: sensitive input fields redacted, secret values masked (durable's
  // storedRecord/redactInput); the persistence policy (PERSISTENCE / flow `persistence`) decides
  // where a non-durable record goes.
  const observer: ExecutionObserver = durable.observer;
  const executionLogger = new CapturingLogger(logger, (executionId, entry) => durable.logs.capture(executionId, redactSensitive(entry, isSensitive)), secrets, {
    isLevelEnabled: (level) => logger.isLevelEnabled(level),
  });
  setExpressionLimits({ timeoutMs: config.EXPRESSION_TIMEOUT_MS });
  setExpressionIsolation({ workers: config.EXPRESSION_WORKERS });
  startExpressionWorkers();
  // Phase outputs kept in-process for `POST /executions/{id}/retry` (flows with persistence failed/all).
  const checkpoints = new CheckpointRecorder({ maxExecutions: config.EXECUTIONS_MAX, defaultPersistence: config.PERSISTENCE });
  const closeDurable = async (): Promise<void> => {
    await durable.close();
    await store.close();
  };
  let built: BuiltEngine;
  try {
    const customAdapters = [...(await loadAdapterModules(config.ADAPTER_MODULES)), ...(options.adapters ?? [])];
    built = await buildEngine({
      flowsDir: config.FLOWS_DIR,
      adapters: customAdapters,
      egressAllow: parseAllowList(config.EGRESS_ALLOW),
      httpConnectionsPerOrigin: config.HTTP_CONNECTIONS_PER_ORIGIN,
      env: options.env ?? process.env,
      secrets,
      logger: executionLogger,
      middleware: [
        createLoggingMiddleware(),
        createMetricsMiddleware(metrics),
        checkpoints.middleware(),
        createOutputLimitsMiddleware({ maxPhaseOutputBytes: config.MAX_PHASE_OUTPUT_BYTES, maxRecordBytes: config.MAX_RECORD_BYTES }),
        ...(options.middleware ?? []),
      ],
      cache: createMemoryPhaseCache({ maxEntries: config.CACHE_MAX_ENTRIES }),
      observer,
      startTriggered: durable.startTriggered,
      findSucceeded: durable.findSucceeded,
      maxMapItems: config.MAX_MAP_ITEMS,
      maxSubflowDepth: config.MAX_SUBFLOW_DEPTH,
    });
  } catch (error) {
    await closeDurable();
    throw error;
  }
  durable.attach(built.engine, built.flows);
  metrics.flowsLoaded.set(built.flows.size);
  const app = await buildApp({ config, engine: built.engine, flows: built.flows, store, durable, metrics, secrets, logger, state, checkpoints });
  const metricsApp = buildMetricsApp(metrics);
  return {
    config,
    app,
    metricsApp,
    built,
    store,
    durable,
    metrics,
    logger,
    state,
    async close() {
      state.shuttingDown = true;
      await app.close();
      await metricsApp.close();
      // Leased executions still running are aborted and their leases released (resumed elsewhere).
      await durable.close();
      await built.engine.close();
      await store.close();
    },
  };
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
