import type { Migration } from './migration.js';

/**
 * Version 5: the signal a waiting execution's wait takes (`waiting_signal`; a callback's is
 * `callback:<key>`). A delivered signal wakes the execution only when it is that one, and a
 * suspension wakes at once only when an untaken signal of that name is kept: a signal sent early
 * for a later wait no longer wakes the execution at every suspension.
 */
export const waitingSignal: Migration = {
  version: 5,
  name: '0005-waiting-signal',
  sqlite: [`ALTER TABLE flowd_executions ADD COLUMN waiting_signal TEXT`],
  postgres: [`ALTER TABLE flowd_executions ADD COLUMN IF NOT EXISTS waiting_signal text`],
};
