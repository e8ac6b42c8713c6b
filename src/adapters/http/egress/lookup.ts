/**
 * Name resolution used by the egress connector, plus a scripted resolver for tests.
 *
 * The connector resolves a hostname exactly once per connection, checks every answer,
 * and connects to one of the checked IPs, so whatever DNS says later (rebinding) never
 * reaches the socket. Injecting a resolver lets tests play a DNS server that changes its
 * answer between calls without touching real DNS.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';

export interface LookupAnswer {
  address: string;
  family: number;
}

/** Resolves a hostname to every address it has. */
export type EgressLookup = (hostname: string) => Promise<readonly LookupAnswer[]>;

/** getaddrinfo via dns.lookup, all answers, in resolver order (Node 20's default is verbatim). */
export const systemLookup: EgressLookup = (hostname) => dnsLookup(hostname, { all: true });

export interface ScriptedLookup extends EgressLookup {
  /** Hostnames asked for, in order. */
  readonly calls: readonly string[];
}

/**
 * A resolver that returns `answers[0]` on the first call, `answers[1]` on the second, …
 * and repeats the last one afterwards: e.g. `[['93.184.216.34'], ['127.0.0.1']]` is a
 * rebinding attack. An empty answer list behaves like NXDOMAIN.
 */
export function createRebindingTestResolver(answers: ReadonlyArray<readonly string[]>): ScriptedLookup {
  if (answers.length === 0) throw new TypeError('createRebindingTestResolver needs at least one answer');
  const calls: string[] = [];
  const resolver = (hostname: string): Promise<readonly LookupAnswer[]> => {
    const next = answers[Math.min(calls.length, answers.length - 1)] ?? [];
    calls.push(hostname);
    if (next.length === 0) {
      return Promise.reject(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname }));
    }
    return Promise.resolve(next.map((address) => ({ address, family: isIP(address) })));
  };
  return Object.assign(resolver, { calls });
}
