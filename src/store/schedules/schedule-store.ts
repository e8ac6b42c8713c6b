/**
 * The coordination row of one flow schedule: its next due occurrence. Replicas fire an
 * occurrence only after moving `nextDue` past it with a compare-and-set, so exactly one of them
 * wins each occurrence (docs/schedules.md).
 */
export interface ScheduleRow {
  readonly flow: string;
  readonly schedule: string;
  /** What the occurrence was computed from (`cron|timezone`): a changed definition recomputes it. */
  readonly spec: string;
  /** The next occurrence not yet fired, ms since the epoch. */
  readonly nextDue: number;
  /** The last occurrence fired, ms since the epoch. */
  readonly lastFired?: number | undefined;
}

export interface ScheduleStore {
  /** Every schedule row, or one flow's. */
  list(flow?: string): Promise<ScheduleRow[]>;
  /** Inserts the row unless one exists; returns the stored row either way. */
  ensure(row: Omit<ScheduleRow, 'lastFired'>): Promise<ScheduleRow>;
  /**
   * Compare-and-set: moves the row from `expectedDue` (and `expectedSpec`) to `nextDue`/`spec`,
   * recording `fired` as the last occurrence fired when given. False when another replica moved
   * it first (or it is gone).
   */
  advance(update: {
    flow: string;
    schedule: string;
    expectedDue: number;
    expectedSpec: string;
    nextDue: number;
    spec: string;
    fired?: number | undefined;
  }): Promise<boolean>;
  /** Forgets the schedules of `flow` not named in `keep` (a reload removed them). */
  prune(flow: string, keep: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/** One process's schedules (STORE=memory): nothing to coordinate with, nothing survives a restart. */
export class MemoryScheduleStore implements ScheduleStore {
  readonly #rows = new Map<string, ScheduleRow>();

  async list(flow?: string): Promise<ScheduleRow[]> {
    return [...this.#rows.values()]
      .filter((row) => flow === undefined || row.flow === flow)
      .sort((a, b) => (a.flow === b.flow ? cmp(a.schedule, b.schedule) : cmp(a.flow, b.flow)));
  }

  async ensure(row: Omit<ScheduleRow, 'lastFired'>): Promise<ScheduleRow> {
    const key = keyOf(row.flow, row.schedule);
    const existing = this.#rows.get(key);
    if (existing !== undefined) return existing;
    this.#rows.set(key, { ...row });
    return { ...row };
  }

  async advance(update: Parameters<ScheduleStore['advance']>[0]): Promise<boolean> {
    const key = keyOf(update.flow, update.schedule);
    const row = this.#rows.get(key);
    if (row === undefined || row.nextDue !== update.expectedDue || row.spec !== update.expectedSpec) return false;
    this.#rows.set(key, { ...row, nextDue: update.nextDue, spec: update.spec, lastFired: update.fired ?? row.lastFired });
    return true;
  }

  async prune(flow: string, keep: readonly string[]): Promise<void> {
    for (const [key, row] of this.#rows) if (row.flow === flow && !keep.includes(row.schedule)) this.#rows.delete(key);
  }

  async close(): Promise<void> {}
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function keyOf(flow: string, schedule: string): string {
  return `${flow}\u0000${schedule}`;
}
