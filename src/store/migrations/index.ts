import { initial } from './0001-initial.js';
import { journal } from './0002-journal.js';
import { waits } from './0003-waits.js';
import { schedules } from './0004-schedules.js';
import { waitingSignal } from './0005-waiting-signal.js';
import { scheduleDefinitions } from './0006-schedule-definitions.js';
import type { Migration } from './migration.js';

export type { Migration, PostgresStep, SqliteStep } from './migration.js';

/** Every migration, in version order (runner.ts applies the pending ones). */
export const MIGRATIONS: readonly Migration[] = [initial, journal, waits, schedules, waitingSignal, scheduleDefinitions];

/** The newest schema version this build knows. */
export const LATEST_VERSION = Math.max(...MIGRATIONS.map((migration) => migration.version));
