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
 * Schedule rows in PostgreSQL (table from migration 0004, keyed by (flow, schedule, spec) since
 * 0006, found through the pool's search_path). `advance` is one conditional UPDATE: of replicas
 * racing for an occurrence, exactly one sees a changed row.
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
        ? await this.#pool.query<Row>(`SELECT * FROM flowd_schedules ORDER BY flow, schedule, spec`)
        : await this.#pool.query<Row>(`SELECT * FROM flowd_schedules WHERE flow = $1 ORDER BY schedule, spec`, [flow]);
    return result.rows.map(fromRow);
  }

  /** A read first: a row that exists (every tick but the first) costs no insert attempt. */
  async ensure(row: Omit<ScheduleRow, 'lastFired'>): Promise<ScheduleRow> {
    const key = [row.flow, row.schedule, row.spec];
    const select = `SELECT * FROM flowd_schedules WHERE flow = $1 AND schedule = $2 AND spec = $3`;
    const existing = (await this.#pool.query<Row>(select, key)).rows[0];
    if (existing !== undefined) return fromRow(existing);
    await this.#pool.query(
      `INSERT INTO flowd_schedules (flow, schedule, spec, next_due) VALUES ($1, $2, $3, $4) ON CONFLICT (flow, schedule, spec) DO NOTHING`,
      [...key, row.nextDue],
    );
    const stored = (await this.#pool.query<Row>(select, key)).rows[0];
    if (stored === undefined) throw new Error(`the row of schedule ${row.flow}/${row.schedule} was deleted as it was created`);
    return fromRow(stored);
  }

  async advance(update: Parameters<ScheduleStore['advance']>[0]): Promise<boolean> {
    const result = await this.#pool.query(
      `UPDATE flowd_schedules SET next_due = $1, last_fired = COALESCE($2, last_fired)
       WHERE flow = $3 AND schedule = $4 AND spec = $5 AND next_due = $6`,
      [update.nextDue, update.fired ?? null, update.flow, update.schedule, update.spec, update.expectedDue],
    );
    return result.rowCount === 1;
  }

  /** One statement; a row updated concurrently is checked again against its new `next_due` (and stays). */
  async prune(rows: Parameters<ScheduleStore['prune']>[0]): Promise<number> {
    if (rows.length === 0) return 0;
    const result = await this.#pool.query(
      `DELETE FROM flowd_schedules s USING unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS k (flow, schedule, spec, next_due)
       WHERE s.flow = k.flow AND s.schedule = k.schedule AND s.spec = k.spec AND s.next_due = k.next_due`,
      [rows.map((row) => row.flow), rows.map((row) => row.schedule), rows.map((row) => row.spec), rows.map((row) => row.nextDue)],
    );
    return result.rowCount ?? 0;
  }

  async close(): Promise<void> {
    if (this.#owned) await this.#pool.end();
  }
}

function fromRow(row: Row): ScheduleRow {
  return { flow: row.flow, schedule: row.schedule, spec: row.spec, nextDue: Number(row.next_due), lastFired: row.last_fired === null ? undefined : Number(row.last_fired) };
}
