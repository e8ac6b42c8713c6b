import { Cron } from 'croner';
import type { InputIssue } from '../errors.js';
import type { ScheduleDefinition } from './schedule-schema.js';
import { didYouMean } from './suggest.js';

/** What to do about occurrences that fell due while no replica was running (docs/schedules.md). */
export type MissedPolicy = 'skip' | 'run_once';

/** A schedule checked at load: its cron parsed in its time zone. */
export interface CompiledSchedule {
  readonly name: string;
  readonly cron: string;
  /** IANA time zone; `UTC` when the flow file names none. */
  readonly timezone: string;
  readonly input: unknown;
  readonly missed: MissedPolicy;
  /** The first occurrence strictly after `after` (ms since the epoch); undefined if there is none. */
  next(after: number): number | undefined;
}

const COMMON_ZONES = ['UTC', 'Europe/London', 'Europe/Paris', 'Europe/Berlin', 'America/New_York', 'America/Chicago', 'America/Los_Angeles', 'Asia/Tokyo', 'Australia/Sydney'];

/**
 * Checks a flow's schedules (unique names, cron, time zone, input against the flow's input
 * schema), reporting each problem at its path; returns the valid ones. A schedule missing its
 * name or cron (an invalid one, already reported) has the rest checked and is not returned.
 */
export function compileSchedules(
  schedules: readonly Partial<ScheduleDefinition>[],
  validateInput: ((input: unknown) => readonly InputIssue[] | undefined) | undefined,
  report: (path: string, message: string) => void,
): CompiledSchedule[] {
  const compiled: CompiledSchedule[] = [];
  const seen = new Set<string>();
  schedules.forEach((schedule, index) => {
    const at = `schedules[${index}]`;
    const { name, cron: pattern } = schedule;
    let ok = true;
    if (name !== undefined && seen.has(name)) {
      report(`${at}.name`, `schedule name "${name}" is used twice in this flow; give each schedule its own name`);
      ok = false;
    }
    if (name !== undefined) seen.add(name);
    const timezone = schedule.timezone ?? 'UTC';
    if (!knownZone(timezone)) {
      const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : COMMON_ZONES;
      report(`${at}.timezone`, `unknown time zone "${timezone}"${didYouMean(timezone, zones)}; use an IANA name such as "Europe/Paris" or "UTC"`);
      ok = false;
    }
    let cron: Cron | undefined;
    if (pattern !== undefined) {
      try {
        cron = new Cron(pattern, { paused: true, ...(ok ? { timezone } : {}) });
      } catch (error) {
        const why = (error as Error).message.replace(/^CronPattern: /, '');
        report(`${at}.cron`, `invalid cron expression "${pattern}": ${why}; use five fields "minute hour day-of-month month day-of-week" (e.g. "0 2 * * *"), optionally with seconds first`);
        ok = false;
      }
    }
    const input = schedule.input ?? {};
    for (const issue of validateInput?.(input) ?? []) {
      report(`${at}.input${issue.path.slice('input'.length)}`, `schedule input does not match the flow's input schema: ${issue.message}`);
      ok = false;
    }
    if (ok && pattern !== undefined && cron !== undefined && cron.nextRun(new Date(0)) === null && cron.nextRun() === null) {
      report(`${at}.cron`, `cron expression "${pattern}" never fires; check its day and month fields`);
      ok = false;
    }
    if (!ok || cron === undefined || name === undefined || pattern === undefined) return;
    const parsed = cron;
    compiled.push({
      name,
      cron: pattern,
      timezone,
      input,
      missed: schedule.missed ?? 'skip',
      next: (after) => parsed.nextRun(new Date(after))?.getTime(),
    });
  });
  return compiled;
}

function knownZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
