import type { Logger } from 'pino';
import type { EnvConfig } from '../config/env.js';
import type { FlowEngine } from '../engine/flow-engine.js';
import type { CompiledFlow } from '../flows/compiled.js';
import type { SecretStore } from '../flows/secrets.js';
import type { FlowdMetrics } from '../observability/metrics.js';
import type { ExecutionStore } from '../store/execution-store.js';

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
}
