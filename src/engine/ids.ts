import { randomUUID } from 'node:crypto';

/**
 * A UUIDv7 (RFC 9562): 48 bits of milliseconds then random bits, so ids sort by creation
 * time, which keyset pagination of executions relies on.
 */
export function newExecutionId(now: number = Date.now()): string {
  // randomUUID draws from a cached entropy pool (randomBytes per id cost more than the rest of
  // a small flow); its version-4 layout already has the variant bits where v7 wants them.
  const random = randomUUID();
  const time = now.toString(16).padStart(12, '0').slice(-12);
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${random.slice(15, 18)}${random.slice(18)}`;
}

export const EXECUTION_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
