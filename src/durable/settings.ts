import type { EnvConfig } from '../config/env.js';
import type { Persistence } from '../flows/compiled.js';

/** The durable layer's settings, from the environment (see docs/durability.md). */
export interface DurableSettings {
  readonly persistence: Persistence;
  readonly leaseMs: number;
  readonly heartbeatMs: number;
  readonly workerConcurrency: number;
  readonly pollMs: number;
  readonly claimBatch: number;
  readonly maxAttempts: number;
  readonly idempotencyTtlMs: number;
  readonly retentionMs: number;
  readonly retentionIntervalMs: number;
  readonly retentionBatch: number;
  readonly callbackAllow: string;
  readonly callbackTimeoutMs: number;
  readonly executionsMax: number;
}

export function durableSettings(config: EnvConfig): DurableSettings {
  return {
    persistence: config.PERSISTENCE,
    leaseMs: config.LEASE_MS,
    heartbeatMs: config.HEARTBEAT_MS ?? Math.max(100, Math.floor(config.LEASE_MS / 3)),
    workerConcurrency: config.WORKER_CONCURRENCY,
    pollMs: config.WORKER_POLL_MS,
    claimBatch: config.CLAIM_BATCH,
    maxAttempts: config.EXECUTION_MAX_ATTEMPTS,
    idempotencyTtlMs: config.IDEMPOTENCY_TTL_MS,
    retentionMs: config.RETENTION_MS,
    retentionIntervalMs: config.RETENTION_INTERVAL_MS,
    retentionBatch: config.RETENTION_BATCH,
    callbackAllow: config.CALLBACK_ALLOW,
    callbackTimeoutMs: config.CALLBACK_TIMEOUT_MS,
    executionsMax: config.EXECUTIONS_MAX,
  };
}
