import type { Logger } from 'pino';
import type { EnvConfig } from '../config/env.js';
import { FlowdError } from '../errors.js';
import type { DurableSettings } from '../durable/settings.js';
import type { FlowEngine } from '../engine/flow-engine.js';
import type { QueueAdmission } from '../executions/queue-admission.js';
import type { FlowCatalog } from '../flows/flow-catalog.js';
import type { ExecutionStore } from '../store/execution-store.js';
import { createScheduleStore } from '../store/schedules/create-schedule-store.js';
import { Scheduler } from './scheduler.js';
import { startScheduled } from './start-scheduled.js';
import type { Cleaner } from '../observability/cleaner.js';

/** The service's scheduler when SCHEDULES=on (undefined when off): started now, stopped with the service. */
export function startScheduler(deps: {
  config: EnvConfig;
  flows: FlowCatalog;
  store: ExecutionStore;
  admission: QueueAdmission;
  engine: FlowEngine;
  settings: DurableSettings;
  clean: Cleaner;
  logger: Logger;
  wake: () => void;
}): { stop(): Promise<void>; scheduler: Scheduler } | undefined {
  if (deps.config.SCHEDULES === 'off') return undefined;
  const { logger } = deps;
  const store = createScheduleStore(deps.config, (error) => logger.error({ err: error }, 'database connection error (schedules)'));
  const starting = { engine: deps.engine, store: deps.store, admission: deps.admission, leaseMs: deps.settings.leaseMs, idempotencyTtlMs: deps.settings.idempotencyTtlMs, clean: deps.clean, wake: deps.wake };
  const scheduler = new Scheduler({
    store,
    flows: () => deps.flows.values(),
    start: (flow, schedule, occurrence) => startScheduled(starting, flow, schedule, occurrence),
    onError: (error, where) => {
      const refused = error instanceof FlowdError && (error.code === 'FLOWD_ERR_QUEUE_FULL' || error.code === 'FLOWD_ERR_OVERLOADED');
      logger.warn({ err: error, ...where }, refused ? 'schedule refused by the queue bounds; trying again next tick' : 'schedule could not fire; trying again next tick');
    },
    onOccurrence: (event) =>
      logger.info({ flow: event.flow, schedule: event.schedule, occurrence: new Date(event.occurrence).toISOString(), fired: event.fired }, event.fired ? 'schedule fired' : 'missed schedule occurrence skipped'),
  });
  scheduler.start();
  return {
    scheduler,
    async stop() {
      await scheduler.stop();
      await store.close();
    },
  };
}
