import type { Migration } from './migration.js';

/**
 * Version 6: schedule rows keyed by (flow, schedule, spec) instead of (flow, schedule): each
 * definition of a schedule (`cron|timezone`) has a row of its own, so replicas holding different
 * definitions (a rolling deploy) each fire their own and no longer move one row back and forth,
 * firing nothing (docs/schedules.md). Existing rows are kept as they are. SQLite cannot change a
 * primary key in place: the table is rebuilt.
 */
export const scheduleDefinitions: Migration = {
  version: 6,
  name: '0006-schedule-definitions',
  sqlite: [
    `CREATE TABLE flowd_schedules_0006 (
      flow TEXT NOT NULL,
      schedule TEXT NOT NULL,
      spec TEXT NOT NULL,
      next_due INTEGER NOT NULL,
      last_fired INTEGER,
      PRIMARY KEY (flow, schedule, spec)
    )`,
    `INSERT INTO flowd_schedules_0006 (flow, schedule, spec, next_due, last_fired) SELECT flow, schedule, spec, next_due, last_fired FROM flowd_schedules`,
    `DROP TABLE flowd_schedules`,
    `ALTER TABLE flowd_schedules_0006 RENAME TO flowd_schedules`,
  ],
  postgres: [
    `ALTER TABLE flowd_schedules DROP CONSTRAINT flowd_schedules_pkey`,
    `ALTER TABLE flowd_schedules ADD CONSTRAINT flowd_schedules_pkey PRIMARY KEY (flow, schedule, spec)`,
  ],
};
