import type Database from 'better-sqlite3';
import type { ScheduleRow, ScheduleStore } from './schedule-store.js';

interface Row {
  flow: string;
  schedule: string;
  spec: string;
  next_due: number;
  last_fired: number | null;
}

/** Schedule rows in the SQLite file (table from migration 0004); each statement is atomic across processes. */
export class SqliteScheduleStore implements ScheduleStore {
  readonly #db: Database.Database;
  readonly #owned: boolean;

  /** `owned`: close the connection with the store. */
  constructor(db: Database.Database, owned = false) {
    this.#db = db;
    this.#owned = owned;
  }

  async list(flow?: string): Promise<ScheduleRow[]> {
    const rows = (flow === undefined
      ? this.#db.prepare(`SELECT * FROM flowd_schedules ORDER BY flow, schedule`).all()
      : this.#db.prepare(`SELECT * FROM flowd_schedules WHERE flow = ? ORDER BY schedule`).all(flow)) as Row[];
    return rows.map(fromRow);
  }

  async ensure(row: Omit<ScheduleRow, 'lastFired'>): Promise<ScheduleRow> {
    this.#db
      .prepare(`INSERT INTO flowd_schedules (flow, schedule, spec, next_due) VALUES (?, ?, ?, ?) ON CONFLICT (flow, schedule) DO NOTHING`)
      .run(row.flow, row.schedule, row.spec, row.nextDue);
    return fromRow(this.#db.prepare(`SELECT * FROM flowd_schedules WHERE flow = ? AND schedule = ?`).get(row.flow, row.schedule) as Row);
  }

  async advance(update: Parameters<ScheduleStore['advance']>[0]): Promise<boolean> {
    const result = this.#db
      .prepare(
        `UPDATE flowd_schedules SET next_due = ?, spec = ?, last_fired = COALESCE(?, last_fired)
         WHERE flow = ? AND schedule = ? AND next_due = ? AND spec = ?`,
      )
      .run(update.nextDue, update.spec, update.fired ?? null, update.flow, update.schedule, update.expectedDue, update.expectedSpec);
    return result.changes === 1;
  }

  async prune(flow: string, keep: readonly string[]): Promise<void> {
    const rows = this.#db.prepare(`SELECT schedule FROM flowd_schedules WHERE flow = ?`).all(flow) as { schedule: string }[];
    const remove = this.#db.prepare(`DELETE FROM flowd_schedules WHERE flow = ? AND schedule = ?`);
    for (const { schedule } of rows) if (!keep.includes(schedule)) remove.run(flow, schedule);
  }

  async close(): Promise<void> {
    if (this.#owned) this.#db.close();
  }
}

function fromRow(row: Row): ScheduleRow {
  return { flow: row.flow, schedule: row.schedule, spec: row.spec, nextDue: Number(row.next_due), lastFired: row.last_fired === null ? undefined : Number(row.last_fired) };
}
