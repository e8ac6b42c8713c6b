import type { Logger } from 'pino';
import type { EnvConfig } from '../config/env.js';
import type { FlowEngine } from '../engine/flow-engine.js';
import type { CompiledFlow } from '../flows/compiled.js';
import type { SecretStore } from '../flows/secrets.js';
import type { FlowdMetrics } from '../observability/metrics.js';
import type { CheckpointSource } from '../retry/plan-retry.js';
import type { ExecutionStore } from '../store/execution-store.js';
import type { Durable } from '../durable/durable.js';

/** Lifecycle flags read by the health routes and the execute route. */
export interface AppState {
  ready: boolean;
  shuttingDown: boolean;
}

/** Everything the API app needs, built by the server (or by a test). */
export interface AppDeps {
  readonly config: EnvConfig;
  readonly engine: FlowEngine;
  readonly flows: ReadonlyMap<string, CompiledFlow>;
  readonly store: ExecutionStore;
  readonly metrics: FlowdMetrics;
  readonly secrets: SecretStore;
  readonly logger: Logger;
  readonly state: AppState;
  /** Checkpoints kept in this process, for `POST /executions/{id}/retry` when the store keeps none. */
  readonly checkpoints?: CheckpointSource | undefined;
  /**
   * Durable executions (async API, Idempotency-Key, persistence policy, cancel across replicas).
   * Without it, execute runs in-process only and the store is read as is.
   */
  readonly durable?: Durable | undefined;
}
