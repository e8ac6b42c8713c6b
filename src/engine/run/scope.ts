import { BulkheadRejectedError, CircuitOpenError, FlowdError } from '../../errors.js';
import { isPromiseLike } from '../../expressions/index.js';
import type { ErrorSummary } from '../record.js';

/** The data expressions see. `phases` is shared by the whole execution (a map item gets a copy). */
export interface Scope {
  readonly input: unknown;
  readonly phases: Record<string, unknown>;
  readonly execution: { readonly id: string; readonly flow: string; readonly version: string; readonly startedAt: string };
  readonly deps: Record<string, unknown>;
  readonly item?: unknown;
  readonly index?: number;
}

/** Where a phase runs: map item index and loop pass, to key journal entries and checkpoints. */
export interface Location {
  readonly index?: number | undefined;
  readonly iteration?: number | undefined;
}

/**
 * A compiled template or expression's value, or a promise of it when its evaluation is asynchronous:
 * hot paths await only then (an await costs a promise and a microtask turn even on a plain value).
 */
export function valueOf(template: { evaluate(scope: object): unknown }, scope: object): unknown {
  return template.evaluate(scope);
}

/** Evaluates a compiled template or expression, awaiting only when it is asynchronous. */
export async function evaluate(template: { evaluate(scope: object): unknown }, scope: object): Promise<unknown> {
  const value = template.evaluate(scope);
  return isPromiseLike(value) ? await value : value;
}

/** Identifies a phase run across resumes: `id`, `id#mapIndex`, `id@loopPass`, `id#mapIndex@loopPass`. */
export function checkpointKey(id: string, location: Location): string {
  let key = id;
  if (location.index !== undefined) key += `#${location.index}`;
  if (location.iteration !== undefined) key += `@${location.iteration}`;
  return key;
}

/** An error that already names the phase it happened in. */
export class PhaseFailure extends FlowdError {
  constructor(
    readonly error: FlowdError,
    readonly phase: string,
    readonly attempts: number,
  ) {
    super(error.code, error.message, { cause: error, retryable: error.retryable, recoverable: error.recoverable });
  }
}

export function summarize(error: FlowdError, phase?: string, attempts?: number): ErrorSummary {
  const summary: ErrorSummary = { code: error.code, message: error.message };
  const retryAfter = error instanceof CircuitOpenError ? error.retryAfterSeconds : error instanceof BulkheadRejectedError ? 1 : undefined;
  if (retryAfter !== undefined) summary.retryAfterSeconds = retryAfter;
  if (phase !== undefined) summary.phase = phase;
  if (attempts !== undefined) summary.attempts = attempts;
  const status = error.details?.['status'];
  if (typeof status === 'number') summary.status = status;
  const reason = error.details?.['reason'];
  if (typeof reason === 'string') summary.reason = reason;
  summary.recoverable = error.recoverable;
  return summary;
}
