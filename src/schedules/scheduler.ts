import type { CompiledSchedule } from '../flows/compile-schedules.js';
import type { CompiledFlow } from '../flows/compiled.js';
import { keyOf, type ScheduleRow, type ScheduleStore } from '../store/schedules/schedule-store.js';

/** Where the scheduler reads the time: the wall clock in service, a fake one in tests. */
export interface SchedulerClock {
  now(): number;
}

export interface SchedulerOptions {
  readonly store: ScheduleStore;
  /** The flows loaded now (reloads add and remove schedules). */
  readonly flows: () => Iterable<CompiledFlow>;
  /** Starts one occurrence; idempotent per occurrence (start-scheduled.ts). */
  readonly start: (flow: CompiledFlow, schedule: CompiledSchedule, occurrence: number) => Promise<unknown>;
  readonly clock?: SchedulerClock;
  /** How often `start()` ticks (default 1 s). */
  readonly intervalMs?: number;
  /**
   * An occurrence later than this when a tick sees it counts as missed (default 60 s); a row of a
   * definition this replica does not hold is deleted once overdue by more than this.
   */
  readonly graceMs?: number;
  readonly onError?: (error: unknown, where: { flow: string; schedule: string }) => void;
  /** Told about each occurrence this replica fired or skipped. */
  readonly onOccurrence?: (event: { flow: string; schedule: string; occurrence: number; fired: boolean }) => void;
}

/** A schedule as shown by the API: its definition and next occurrence. */
export interface ScheduleView {
  readonly name: string;
  readonly cron: string;
  readonly timezone: string;
  readonly missed: 'skip' | 'run_once';
  readonly input: unknown;
  /** ISO 8601; absent if it never fires again. */
  readonly nextOccurrence?: string | undefined;
  readonly lastFired?: string | undefined;
}

/** Walking more overdue occurrences than this (a long outage of a per-second cron) stops at the newest found. */
const MAX_WALK = 100_000;

/**
 * Fires flow schedules exactly once across replicas. Each definition of a schedule (its
 * `cron|timezone`) has one store row holding its next due occurrence; a tick that finds it due
 * starts the occurrence (idempotently, keyed by the occurrence) and then moves the row past it
 * with a compare-and-set. Replicas racing for an occurrence create one execution; a replica
 * dying between the two steps leaves the row due, so the next tick anywhere starts it again (the
 * same execution) and moves it on: nothing is lost and nothing runs twice. Replicas holding
 * different definitions (a rolling deploy) each move their own row and never undo each other;
 * an occurrence both definitions have starts one execution, its key naming no definition.
 * Occurrences older than `graceMs` were missed (nothing ran): `skip` drops them, `run_once` runs
 * the newest of them once. Rows no replica holds lapse and are pruned.
 */
export class Scheduler {
  readonly #options: SchedulerOptions;
  readonly #clock: SchedulerClock;
  readonly #graceMs: number;
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<number> | undefined;
  #stopped = false;

  constructor(options: SchedulerOptions) {
    this.#options = options;
    this.#clock = options.clock ?? { now: () => Date.now() };
    this.#graceMs = options.graceMs ?? 60_000;
  }

  /** Ticks every `intervalMs` until `stop()`. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#stopped = false;
    this.#timer = setInterval(() => void this.tick(), this.#options.intervalMs ?? 1000);
    this.#timer.unref();
    void this.tick();
  }

  /** Stops ticking and waits for a tick under way. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#ticking?.catch(() => undefined);
  }

  /** Fires what is due now; returns how many occurrences this replica started. One tick at a time. */
  tick(): Promise<number> {
    if (this.#ticking !== undefined) return this.#ticking;
    const run = this.#tick().finally(() => {
      this.#ticking = undefined;
    });
    this.#ticking = run;
    return run;
  }

  /** The schedules of one flow with their next occurrence (stored when known, else computed). */
  async view(flow: CompiledFlow): Promise<ScheduleView[]> {
    const rows = flow.schedules.length === 0 ? [] : await this.#options.store.list(flow.name);
    return viewSchedules(flow, rows, this.#clock.now());
  }

  async #tick(): Promise<number> {
    let fired = 0;
    const flows = [...this.#options.flows()];
    await this.#prune(flows);
    for (const flow of flows) {
      for (const schedule of flow.schedules) {
        if (this.#stopped) return fired;
        try {
          if (await this.#fire(flow, schedule)) fired += 1;
        } catch (error) {
          this.#options.onError?.(error, { flow: flow.name, schedule: schedule.name });
        }
      }
    }
    return fired;
  }

  /**
   * Deletes the rows of definitions this replica does not hold (a changed cron or time zone, a
   * removed schedule or flow) once they are overdue by more than the grace: a replica holding a
   * definition keeps its row moving, so only rows no replica fires lapse. Compare-and-delete, so
   * a row moved on meanwhile stays. One read per tick.
   */
  async #prune(flows: readonly CompiledFlow[]): Promise<void> {
    const held = new Set(flows.flatMap((flow) => flow.schedules.map((schedule) => keyOf({ flow: flow.name, schedule: schedule.name, spec: specOf(schedule) }))));
    const lapsedBefore = this.#clock.now() - this.#graceMs;
    try {
      const rows = await this.#options.store.list();
      const lapsed = rows.filter((row) => row.nextDue < lapsedBefore && !held.has(keyOf(row)));
      if (lapsed.length > 0) await this.#options.store.prune(lapsed);
    } catch (error) {
      this.#options.onError?.(error, { flow: '*', schedule: '*' });
    }
  }

  /** Handles one schedule; true when this replica started an occurrence. */
  async #fire(flow: CompiledFlow, schedule: CompiledSchedule): Promise<boolean> {
    const { store } = this.#options;
    const now = this.#clock.now();
    const upcoming = schedule.next(now);
    if (upcoming === undefined) return false;
    // This definition's own row: replicas holding another definition (a rolling deploy) move theirs.
    const key = { flow: flow.name, schedule: schedule.name, spec: specOf(schedule) };
    const row = await store.ensure({ ...key, nextDue: upcoming });
    if (row.nextDue > now) return false;
    const newest = newestDue(schedule, row.nextDue, now);
    const late = now - newest > this.#graceMs;
    const occurrence = late && schedule.missed === 'skip' ? undefined : newest;
    if (occurrence !== undefined) await this.#options.start(flow, schedule, occurrence);
    const won = await store.advance({ ...key, expectedDue: row.nextDue, nextDue: upcoming, fired: occurrence });
    if (won) this.#options.onOccurrence?.({ flow: flow.name, schedule: schedule.name, occurrence: newest, fired: occurrence !== undefined });
    return won && occurrence !== undefined;
  }
}

/** A flow's schedules as the API shows them: the stored next occurrence when it is still ahead, else the computed one. */
export function viewSchedules(flow: CompiledFlow, rows: readonly ScheduleRow[], now: number): ScheduleView[] {
  return flow.schedules.map((schedule) => {
    const row = rows.find((candidate) => candidate.schedule === schedule.name && candidate.spec === specOf(schedule));
    const next = row === undefined || row.nextDue < now ? schedule.next(now) : row.nextDue;
    return {
      name: schedule.name,
      cron: schedule.cron,
      timezone: schedule.timezone,
      missed: schedule.missed,
      input: schedule.input,
      ...(next === undefined ? {} : { nextOccurrence: new Date(next).toISOString() }),
      ...(row?.lastFired === undefined ? {} : { lastFired: new Date(row.lastFired).toISOString() }),
    };
  });
}

/** `cron|timezone`: what a stored next occurrence was computed from. */
export function specOf(schedule: CompiledSchedule): string {
  return `${schedule.cron}|${schedule.timezone}`;
}

/** The newest occurrence at or before `now`, walking from `due` (itself due). */
function newestDue(schedule: CompiledSchedule, due: number, now: number): number {
  let newest = due;
  for (let i = 0; i < MAX_WALK; i += 1) {
    const next = schedule.next(newest);
    if (next === undefined || next > now) return newest;
    newest = next;
  }
  return newest;
}
