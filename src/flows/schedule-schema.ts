import { z } from 'zod';

export const SCHEDULE_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/**
 * One cron schedule in a flow file (docs/schedules.md): when to start the flow, in which time
 * zone, with what input, and what to do about occurrences missed while no replica was running.
 * The cron expression, the time zone and the input are checked by compile-schedules.ts.
 */
export const ScheduleSchema = z.strictObject({
  name: z.string().regex(SCHEDULE_NAME_PATTERN, 'must match ^[a-z0-9][a-z0-9_-]{0,63}$'),
  cron: z.string().min(1).max(200),
  timezone: z.string().min(1).max(100).optional(),
  input: z.unknown().optional(),
  missed: z.enum(['skip', 'run_once']).optional(),
});
export type ScheduleDefinition = z.infer<typeof ScheduleSchema>;
