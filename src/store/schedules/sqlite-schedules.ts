import type Database from 'better-sqlite3';
import type { ScheduleRow, ScheduleStore } from './schedule-store.js';

interface Row {
  flow: string;
  schedule: string;
  spec: string;
  next_due: number;
  last_fired: number | null;
}

/**
 * Schedule rows in the SQLite file (table from migration 0004, keyed by (flow, schedule, spec) since
 * 0006); each statement is atomic across processes.
 */
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
      ? this.#db.prepare(`SELECT * FROM flowd_schedules ORDER BY flow, schedule, spec`).all()
      : this.#db.prepare(`SELECT * FROM flowd_schedules WHERE flow = ? ORDER BY schedule, spec`).all(flow)) as Row[];
    return rows.map(fromRow);
  }

  /** A read first: a row that exists (every tick but the first) costs no write lock. */
  async ensure(row: Omit<ScheduleRow, 'lastFired'>): Promise<ScheduleRow> {
    const select = this.#db.prepare(`SELECT * FROM flowd_schedules WHERE flow = ? AND schedule = ? AND spec = ?`);
    const existing = select.get(row.flow, row.schedule, row.spec) as Row | undefined;
    if (existing !== undefined) return fromRow(existing);
    this.#db
      .prepare(`INSERT INTO flowd_schedules (flow, schedule, spec, next_due) VALUES (?, ?, ?, ?) ON CONFLICT (flow, schedule, spec) DO NOTHING`)
      .run(row.flow, row.schedule, row.spec, row.nextDue);
    const stored = select.get(row.flow, row.schedule, row.spec) as Row | undefined;
    if (stored === undefined) throw new Error(`the row of schedule ${row.flow}/${row.schedule} was deleted as it was created`);
    return fromRow(stored);
  }

  async advance(update: Parameters<ScheduleStore['advance']>[0]): Promise<boolean> {
    const result = this.#db
      .prepare(
        `UPDATE flowd_schedules SET next_due = ?, last_fired = COALESCE(?, last_fired)
         WHERE flow = ? AND schedule = ? AND spec = ? AND next_due = ?`,
      )
      .run(update.nextDue, update.fired ?? null, update.flow, update.schedule, update.spec, update.expectedDue);
    return result.changes === 1;
  }

  async prune(rows: Parameters<ScheduleStore['prune']>[0]): Promise<number> {
    const remove = this.#db.prepare(`DELETE FROM flowd_schedules WHERE flow = ? AND schedule = ? AND spec = ? AND next_due = ?`);
    let count = 0;
    for (const row of rows) count += remove.run(row.flow, row.schedule, row.spec, row.nextDue).changes;
    return count;
  }

  async close(): Promise<void> {
    if (this.#owned) this.#db.close();
  }
}

function fromRow(row: Row): ScheduleRow {
  return { flow: row.flow, schedule: row.schedule, spec: row.spec, nextDue: Number(row.next_due), lastFired: row.last_fired === null ? undefined : Number(row.last_fired) };
}
