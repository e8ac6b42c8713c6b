import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { FlowEngine } from '../engine/flow-engine.js';
import type { FlowLogger } from '../engine/logger.js';
import type { FlowCatalog } from '../flows/flow-catalog.js';
import type { ExecutionStore } from '../store/execution-store.js';
import { CallbackSender } from './callbacks.js';
import { DefinitionReport } from './definition-report.js';
import type { DurableWriter } from './durable-run.js';
import { LeasedRuns } from './leased-runs.js';
import { LeaseKeeper } from './leases.js';
import { Retention } from './retention.js';
import type { DurableSettings } from './settings.js';
import { WorkQueue } from './work-queue.js';
import type { Cleaner } from '../observability/cleaner.js';

const SHUTDOWN_SETTLE_MS = 2000;

/** The durable layer of one replica: leases, the writer, leased runs, the work queue, retention. */
export interface DurableParts {
  readonly owner: string;
  readonly writer: DurableWriter;
  readonly runs: LeasedRuns;
  readonly queue: WorkQueue;
  readonly retention: Retention;
  readonly report: DefinitionReport;
  /**
   * Stops claiming, aborts what still runs here without compensating it and gives its leases
   * back, so another replica (or the next start) resumes it from its journal at once.
   */
  close(): Promise<void>;
}

/** Before the engine exists: what the engine's options need (the writer's parts). */
export function createDurableWriter(options: {
  store: ExecutionStore;
  settings: DurableSettings;
  logger: FlowLogger;
  clean: Cleaner;
  onCancelRequested: (executionId: string) => void;
  owner?: string | undefined;
}): DurableWriter {
  const owner = options.owner ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const { settings } = options;
  return {
    store: options.store,
    owner,
    leaseMs: settings.leaseMs,
    logger: options.logger,
    clean: options.clean,
    callbacks: new CallbackSender({ allow: settings.callbackAllow, timeoutMs: settings.callbackTimeoutMs, logger: options.logger }),
    leases: new LeaseKeeper({
      store: options.store,
      owner,
      leaseMs: settings.leaseMs,
      heartbeatMs: settings.heartbeatMs,
      logger: options.logger,
      onCancelRequested: options.onCancelRequested,
    }),
  };
}

/** Once the engine exists: runs, the worker, retention and the definition report start. */
export function startDurable(options: {
  writer: DurableWriter;
  engine: FlowEngine;
  flows: FlowCatalog;
  settings: DurableSettings;
  paused: () => boolean;
}): DurableParts {
  const { writer, settings } = options;
  const runs = new LeasedRuns(options.engine, writer);
  const queue = new WorkQueue({
    store: writer.store,
    engine: options.engine,
    runs,
    flows: options.flows,
    owner: writer.owner,
    logger: writer.logger,
    concurrency: settings.workerConcurrency,
    pollMs: settings.pollMs,
    claimBatch: settings.claimBatch,
    leaseMs: settings.leaseMs,
    maxAttempts: settings.maxAttempts,
    paused: options.paused,
  });
  const retention = new Retention({
    store: writer.store,
    retentionMs: settings.retentionMs,
    intervalMs: settings.retentionIntervalMs,
    batch: settings.retentionBatch,
    logger: writer.logger,
  });
  const report = new DefinitionReport({ store: writer.store, flows: options.flows, logger: writer.logger, firstAfterMs: Math.min(1000, settings.pollMs) });
  let closed = false;
  return {
    owner: writer.owner,
    writer,
    runs,
    queue,
    retention,
    report,
    async close() {
      if (closed) return;
      closed = true;
      queue.close();
      retention.close();
      report.close();
      const leases = writer.leases.leases();
      if (leases.length > 0) {
        writer.leases.abortAll('released at shutdown');
        await runs.settle(SHUTDOWN_SETTLE_MS);
        await writer.store.release(leases).catch((error: unknown) => writer.logger.warn({ err: error }, 'could not release leases at shutdown'));
      }
      writer.leases.close();
      await writer.callbacks.close();
    },
  };
}
