import { z } from 'zod';

/** The longest a wait may last (a year): a forgotten wait still ends. */
export const MAX_WAIT_MS = 366 * 24 * 3600 * 1000;
export const SIGNAL_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_PATTERN = /^(\d+)\s*(ms|s|m|h|d)$/;

/** A duration: a number of milliseconds, or a string such as `90s`, `15m`, `36h`, `3d`. */
export const DurationSchema = z.union([
  z.number().int().min(0).max(MAX_WAIT_MS),
  z.string().regex(DURATION_PATTERN, 'must be a number of milliseconds or a duration such as "90s", "15m", "36h", "3d"'),
]);

/** Milliseconds of a valid DurationSchema value. */
export function durationMs(value: number | string): number {
  if (typeof value === 'number') return value;
  const [, amount, unit] = DURATION_PATTERN.exec(value)!;
  return Number(amount) * UNITS[unit!]!;
}

/** What a wait for a signal or a callback does when its timeout passes first. */
export const OnTimeoutSchema = z.union([z.literal('fail'), z.strictObject({ output: z.unknown() })]);

const JsonSchemaObject = z.record(z.string(), z.unknown());

export const WaitSchema = z.strictObject({
  /** Wait for a time: this long… */
  for: DurationSchema.optional(),
  /** …or until this moment (an expression giving an ISO 8601 timestamp or ms since the epoch). */
  until: z.string().optional(),
  /** Wait for this signal (`POST /executions/{id}/signals/{name}`). */
  signal: z.string().regex(SIGNAL_NAME_PATTERN, 'must match ^[A-Za-z_][A-Za-z0-9_.-]{0,63}$').optional(),
  /** Required with `signal`: how long to wait for it. */
  timeout: DurationSchema.optional(),
  /** JSON Schema of the signal's payload, checked when it is delivered. */
  schema: JsonSchemaObject.optional(),
  on_timeout: OnTimeoutSchema.optional(),
});
export type WaitDefinition = z.infer<typeof WaitSchema>;

/** A call phase that waits for its callback (`POST /callbacks/{token}`) after the call. */
export const CallbackSchema = z.strictObject({
  timeout: DurationSchema,
  /** JSON Schema of the callback's `output`, checked when it is delivered. */
  schema: JsonSchemaObject.optional(),
  on_timeout: OnTimeoutSchema.optional(),
});
export type CallbackDefinition = z.infer<typeof CallbackSchema>;
