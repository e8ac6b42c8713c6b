import type { Logger } from 'pino';
import type { EnvConfig } from '../config/env.js';
import type { DurableParts } from '../durable/durable-parts.js';
import type { FlowEngine } from '../engine/flow-engine.js';
import type { ExecutionReads } from '../executions/execution-reads.js';
import type { ExecutionService } from '../executions/execution-service.js';
import type { CompiledFlow } from '../flows/compiled.js';
import type { FlowCatalog } from '../flows/flow-catalog.js';
import type { FlowReloader } from '../flows/flow-reloader.js';
import type { SecretStore } from '../flows/secrets.js';
import type { FlowdMetrics } from '../observability/metrics.js';
import type { ScheduleView } from '../schedules/scheduler.js';
import type { ExecutionStore } from '../store/execution-store.js';
import type { Cleaner } from '../observability/cleaner.js';

/** Lifecycle flags read by the health routes and the execute route. */
export interface AppState {
  ready: boolean;
  shuttingDown: boolean;
}

/** Everything the API app needs, built by the service (or by a test through createService). */
export interface AppDeps {
  readonly config: EnvConfig;
  readonly engine: FlowEngine;
  /** The loaded flows: read as a map, the current version of each; every version; swapped by reloads. */
  readonly flows: FlowCatalog;
  /** Reloads the flows (POST /catalog/reload) and knows the last reload's result. */
  readonly reloader: FlowReloader;
  readonly store: ExecutionStore;
  /** How executions run (in memory, durably, queued; idempotency; the in-flight bound). */
  readonly executions: ExecutionService;
  /** Records, logs and lists, for callers (tenant-scoped). */
  readonly reads: ExecutionReads;
  readonly durable: DurableParts;
  readonly metrics: FlowdMetrics;
  readonly secrets: SecretStore;
  readonly logger: Logger;
  readonly state: AppState;
  /** Secrets masked, sensitive fields redacted: applied to every value answered. */
  readonly clean: Cleaner;
  /** A flow's schedules with their next occurrence (from the store when the scheduler runs). */
  readonly schedules?: ((flow: CompiledFlow) => Promise<ScheduleView[]>) | undefined;
}
