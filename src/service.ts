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
import { CapturingLogger } from './observability/execution-log.js';
import { createLoggingMiddleware } from './observability/logging-middleware.js';
import { createRootLogger } from './observability/logger.js';
import { buildMetricsApp } from './observability/metrics-app.js';
import { createMetricsMiddleware } from './observability/metrics-middleware.js';
import { createMetrics, type FlowdMetrics } from './observability/metrics.js';
import type { AppState } from './http/app-deps.js';
import type { ExecutionStore } from './store/execution-store.js';
import { MemoryExecutionStore } from './store/memory-store.js';

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
    ...(options.logDestination === undefined ? {} : { destination: options.logDestination }),
  });
  const metrics = createMetrics();
  const store: ExecutionStore = new MemoryExecutionStore({ maxExecutions: config.EXECUTIONS_MAX });
  const state: AppState = { ready: false, shuttingDown: false };
  const observer: ExecutionObserver = {
    onStart: (record) => store.save(record),
    onFinish: (record) => store.save(record),
  };
  const executionLogger = new CapturingLogger(logger, (executionId, entry) => void store.appendLogs(executionId, [entry]), secrets);
  const customAdapters = [...(await loadAdapterModules(config.ADAPTER_MODULES)), ...(options.adapters ?? [])];
  const built = await buildEngine({
    flowsDir: config.FLOWS_DIR,
    adapters: customAdapters,
    egressAllow: parseAllowList(config.EGRESS_ALLOW),
    httpConnectionsPerOrigin: config.HTTP_CONNECTIONS_PER_ORIGIN,
    env: options.env ?? process.env,
    secrets,
    logger: executionLogger,
    middleware: [createLoggingMiddleware(), createMetricsMiddleware(metrics), ...(options.middleware ?? [])],
    cache: createMemoryPhaseCache({ maxEntries: config.CACHE_MAX_ENTRIES }),
    observer,
    maxMapItems: config.MAX_MAP_ITEMS,
  });
  metrics.flowsLoaded.set(built.flows.size);
  const app = await buildApp({ config, engine: built.engine, flows: built.flows, store, metrics, secrets, logger, state });
  const metricsApp = buildMetricsApp(metrics);
  return {
    config,
    app,
    metricsApp,
    built,
    store,
    metrics,
    logger,
    state,
    async close() {
      state.shuttingDown = true;
      await app.close();
      await metricsApp.close();
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
