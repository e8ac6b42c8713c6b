import type pg from 'pg';
import type { ScheduleRow, ScheduleStore } from './schedule-store.js';

interface Row {
  flow: string;
  schedule: string;
  spec: string;
  next_due: string;
  last_fired: string | null;
}

/**
 * Schedule rows in PostgreSQL (table from migration 0004, found through the pool's search_path).
 * `advance` is one conditional UPDATE: of replicas racing for an occurrence, exactly one sees a
 * changed row.
 */
export class PostgresScheduleStore implements ScheduleStore {
  readonly #pool: pg.Pool;
  readonly #owned: boolean;

  /** `owned`: end the pool with the store. */
  constructor(pool: pg.Pool, owned = false) {
    this.#pool = pool;
    this.#owned = owned;
  }

  async list(flow?: string): Promise<ScheduleRow[]> {
    const result =
      flow === undefined
        ? await this.#pool.query<Row>(`SELECT * FROM flowd_schedules ORDER BY flow, schedule`)
        : await this.#pool.query<Row>(`SELECT * FROM flowd_schedules WHERE flow = $1 ORDER BY schedule`, [flow]);
    return result.rows.map(fromRow);
  }

  async ensure(row: Omit<ScheduleRow, 'lastFired'>): Promise<ScheduleRow> {
    await this.#pool.query(
      `INSERT INTO flowd_schedules (flow, schedule, spec, next_due) VALUES ($1, $2, $3, $4) ON CONFLICT (flow, schedule) DO NOTHING`,
      [row.flow, row.schedule, row.spec, row.nextDue],
    );
    const result = await this.#pool.query<Row>(`SELECT * FROM flowd_schedules WHERE flow = $1 AND schedule = $2`, [row.flow, row.schedule]);
    return fromRow(result.rows[0]!);
  }

  async advance(update: Parameters<ScheduleStore['advance']>[0]): Promise<boolean> {
    const result = await this.#pool.query(
      `UPDATE flowd_schedules SET next_due = $1, spec = $2, last_fired = COALESCE($3, last_fired)
       WHERE flow = $4 AND schedule = $5 AND next_due = $6 AND spec = $7`,
      [update.nextDue, update.spec, update.fired ?? null, update.flow, update.schedule, update.expectedDue, update.expectedSpec],
    );
    return result.rowCount === 1;
  }

  async prune(flow: string, keep: readonly string[]): Promise<void> {
    await this.#pool.query(`DELETE FROM flowd_schedules WHERE flow = $1 AND NOT (schedule = ANY($2::text[]))`, [flow, [...keep]]);
  }

  async close(): Promise<void> {
    if (this.#owned) await this.#pool.end();
  }
}

function fromRow(row: Row): ScheduleRow {
  return { flow: row.flow, schedule: row.schedule, spec: row.spec, nextDue: Number(row.next_due), lastFired: row.last_fired === null ? undefined : Number(row.last_fired) };
}
