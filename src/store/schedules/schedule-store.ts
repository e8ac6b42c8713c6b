/**
 * The coordination row of one definition of a flow schedule (its `cron|timezone`): its next due
 * occurrence. Replicas fire an occurrence only after moving `nextDue` past it with a
 * compare-and-set, so exactly one of them wins each occurrence. Replicas holding different
 * definitions of a schedule (a rolling deploy) each have their definition's row and never move
 * each other's (docs/schedules.md).
 */
export interface ScheduleRow {
  readonly flow: string;
  readonly schedule: string;
  /** The definition the occurrences are computed from (`cron|timezone`); part of the row's key. */
  readonly spec: string;
  /** The next occurrence not yet fired, ms since the epoch. */
  readonly nextDue: number;
  /** The last occurrence fired, ms since the epoch. */
  readonly lastFired?: number | undefined;
}

/** What names a row: a flow's schedule under one definition. */
export type ScheduleKey = Pick<ScheduleRow, 'flow' | 'schedule' | 'spec'>;

export interface ScheduleStore {
  /** Every schedule row, or one flow's (by schedule, then spec). */
  list(flow?: string): Promise<ScheduleRow[]>;
  /** Inserts the row unless one with its key (flow, schedule, spec) exists; returns the stored row either way. */
  ensure(row: Omit<ScheduleRow, 'lastFired'>): Promise<ScheduleRow>;
  /**
   * Compare-and-set: moves the row from `expectedDue` to `nextDue`, recording `fired` as the last
   * occurrence fired when given. False when another replica moved it first (or it is gone).
   */
  advance(update: ScheduleKey & { expectedDue: number; nextDue: number; fired?: number | undefined }): Promise<boolean>;
  /**
   * Compare-and-delete: deletes each given row whose `nextDue` is still the one given (rows of
   * definitions no replica holds any more, read by `list`); a row another replica moved on
   * meanwhile stays. Returns how many rows went.
   */
  prune(rows: readonly (ScheduleKey & { nextDue: number })[]): Promise<number>;
  close(): Promise<void>;
}

/** One process's schedules (STORE=memory): nothing to coordinate with, nothing survives a restart. */
export class MemoryScheduleStore implements ScheduleStore {
  readonly #rows = new Map<string, ScheduleRow>();

  async list(flow?: string): Promise<ScheduleRow[]> {
    return [...this.#rows.values()]
      .filter((row) => flow === undefined || row.flow === flow)
      .sort((a, b) => cmp(a.flow, b.flow) || cmp(a.schedule, b.schedule) || cmp(a.spec, b.spec));
  }

  async ensure(row: Omit<ScheduleRow, 'lastFired'>): Promise<ScheduleRow> {
    const key = keyOf(row);
    const existing = this.#rows.get(key);
    if (existing !== undefined) return existing;
    this.#rows.set(key, { ...row });
    return { ...row };
  }

  async advance(update: Parameters<ScheduleStore['advance']>[0]): Promise<boolean> {
    const key = keyOf(update);
    const row = this.#rows.get(key);
    if (row === undefined || row.nextDue !== update.expectedDue) return false;
    this.#rows.set(key, { ...row, nextDue: update.nextDue, lastFired: update.fired ?? row.lastFired });
    return true;
  }

  async prune(rows: Parameters<ScheduleStore['prune']>[0]): Promise<number> {
    let count = 0;
    for (const row of rows) {
      const key = keyOf(row);
      if (this.#rows.get(key)?.nextDue !== row.nextDue) continue;
      this.#rows.delete(key);
      count += 1;
    }
    return count;
  }

  async close(): Promise<void> {}
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A row's key as one string (no flow, schedule or spec holds a NUL). */
export function keyOf(row: ScheduleKey): string {
  return `${row.flow}\u0000${row.schedule}\u0000${row.spec}`;
}
