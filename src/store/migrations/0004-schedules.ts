import type { Migration } from './migration.js';

/**
 * Version 4: the next due occurrence of every flow schedule, the row replicas compare-and-set
 * to fire each occurrence exactly once (src/store/schedules/, docs/schedules.md). Independent of
 * version 3 (waits): the runner applies whichever versions are missing, in order.
 */
export const schedules: Migration = {
  version: 4,
  name: '0004-schedules',
  sqlite: [
    `CREATE TABLE IF NOT EXISTS flowd_schedules (
      flow TEXT NOT NULL,
      schedule TEXT NOT NULL,
      spec TEXT NOT NULL,
      next_due INTEGER NOT NULL,
      last_fired INTEGER,
      PRIMARY KEY (flow, schedule)
    )`,
  ],
  postgres: [
    `CREATE TABLE IF NOT EXISTS flowd_schedules (
      flow text NOT NULL,
      schedule text NOT NULL,
      spec text NOT NULL,
      next_due bigint NOT NULL,
      last_fired bigint,
      PRIMARY KEY (flow, schedule)
    )`,
  ],
};
