import { randomUUID } from 'node:crypto';

/** The last millisecond an id was made for, and the counter within it (RFC 9562 §6.2, method 1). */
let lastMs = -1;
let sequence = 0;

/**
 * A UUIDv7 (RFC 9562): 48 bits of milliseconds, then a 12-bit counter, then random bits, so ids
 * sort by creation time — within one process also when several are made in the same millisecond
 * (the counter starts at a random value below 2048 each millisecond and counts up), which keyset
 * pagination of executions relies on. Past 2048 ids in one millisecond, random bits there
 * instead: still unique, not ordered within that millisecond.
 */
export function newExecutionId(now: number = Date.now()): string {
  // randomUUID draws from a cached entropy pool (randomBytes per id cost more than the rest of
  // a small flow); its version-4 layout already has the variant bits where v7 wants them.
  const random = randomUUID();
  let counter = random.slice(15, 18);
  if (now !== lastMs) {
    lastMs = now;
    sequence = Number.parseInt(counter, 16) & 0x7ff;
    counter = sequence.toString(16).padStart(3, '0');
  } else if (now === lastMs && sequence < 0xfff) {
    sequence += 1;
    counter = sequence.toString(16).padStart(3, '0');
  }
  const time = now.toString(16).padStart(12, '0').slice(-12);
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${counter}${random.slice(18)}`;
}

export const EXECUTION_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
