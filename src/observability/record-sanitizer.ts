import type { ExecutionRecord } from '../engine/record.js';
import type { ExecutionObserver } from '../engine/runtime.js';
import type { SecretStore } from '../flows/secrets.js';
import { redactSensitive, type SensitiveFieldMatcher } from './sensitive-fields.js';

/**
 * Wraps the observer that stores records so that what is stored and served never carries
 * sensitive input fields or configured secret values:
 *
 * - `record.input` is replaced, in place, by a copy with sensitive fields redacted. onStart runs
 *   synchronously inside `engine.start()`, before the record is visible to anyone (the engine
 *   returns the id afterwards); the execution itself keeps evaluating the raw input it was given
 *   (its scope and recovery input are separate from `record.input`), so flows still work.
 * - every record handed to the store is a copy with configured secret values masked, and with
 *   sensitive fields redacted everywhere in it (output and error messages too): the caller of
 *   execute gets the output it asked for (the live record), while the stored history
 *   (GET /executions…) never shows a token or password a flow returned or put in an error.
 *
 * Checkpoint outputs are passed on unmasked: a resumed execution must see what the phase produced.
 */
export function createSanitizingObserver(
  inner: ExecutionObserver,
  options: { secrets: SecretStore; isSensitive: SensitiveFieldMatcher },
): ExecutionObserver {
  const { secrets, isSensitive } = options;
  // The record's own field names are never sensitive, so one deep pass covers input, output and
  // error messages that embed data (an `$error()` built from upstream JSON).
  const stored = (record: ExecutionRecord): ExecutionRecord => redactSensitive(secrets.mask(record), isSensitive);
  return {
    onStart: (record, flow) => {
      if (record.input !== undefined) record.input = redactSensitive(record.input, isSensitive);
      return inner.onStart?.(secrets.mask(record), flow);
    },
    ...(inner.onCheckpoint === undefined
      ? {}
      : { onCheckpoint: (record, key, output) => inner.onCheckpoint!(stored(record), key, output) }),
    onFinish: (record, flow) => inner.onFinish?.(stored(record), flow),
  };
}
