import type { EgressPolicy } from './http/egress/index.js';
import { systemLookup, type EgressLookup } from './http/egress/index.js';
import { TerminalError } from './failures.js';

/** How non-HTTP components (sql, redis) check the host they connect to against the egress policy. */
export interface EgressTargetOptions {
  /** The egress policy every connection's address must pass (the same `EGRESS_ALLOW` as http components). */
  readonly egress?: EgressPolicy | undefined;
  readonly lookup?: EgressLookup | undefined;
}

/**
 * Resolves `hostname` once and checks every address against the egress policy; answers the address
 * to connect to (the one checked), or the name itself when no policy applies. A failed lookup is
 * passed to `onLookupError` (so each adapter classifies it with its own codes).
 */
export async function checkedHost(hostname: string, options: EgressTargetOptions, onLookupError: (error: unknown) => Error, unresolvedReason: string): Promise<string> {
  if (options.egress === undefined) return hostname;
  let answers;
  try {
    answers = await (options.lookup ?? systemLookup)(hostname);
  } catch (error) {
    throw onLookupError(error);
  }
  for (const { address } of answers) {
    const decision = options.egress.checkAddress(address, hostname);
    if (!decision.allowed) throw new TerminalError(`connecting to ${hostname} (${address}) is not allowed: ${decision.reason}`, { reason: 'EGRESS_DENIED' });
  }
  const first = answers[0];
  if (first === undefined) throw new TerminalError(`${hostname} did not resolve`, { reason: unresolvedReason });
  return first.address;
}
