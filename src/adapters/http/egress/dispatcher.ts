/**
 * The undici dispatcher for outbound component calls, with the SSRF check in its
 * connector (SECURITY.md rule 4): the decision is made on the IP the socket is opened
 * to, not on the URL text.
 *
 * For every new connection the connector
 *  1. takes the host undici gives it (already WHATWG-normalised, so "2130706433",
 *     "0x7f.1", "0177.0.0.1" and "127.1" all arrive as 127.0.0.1, and
 *     "[::ffff:127.0.0.1]" as ::ffff:7f00:1);
 *  2. if it is an IP literal, checks it; otherwise resolves it ONCE (all answers) and
 *     refuses the connection if ANY answer is denied (a name that mixes a public and a
 *     loopback answer is a rebinding tell, and the kernel/resolver order decides which
 *     one is used, so we do not gamble on it);
 *  3. opens the socket to the checked IP itself (never the name, so there is no second
 *     resolution that DNS rebinding could answer differently), keeping the name for TLS
 *     SNI and certificate verification;
 *  4. re-checks `socket.remoteAddress` once connected, as a belt-and-braces guard.
 * A refusal is an EgressDeniedError (retryable: false), which undici hands unchanged to
 * every request queued on that origin. Redirects are not followed by this dispatcher.
 */
import type { Socket } from 'node:net';
import { isIP } from 'node:net';
import { Agent, buildConnector, errors, type Dispatcher } from 'undici';
import { EgressDeniedError } from '../../../errors.js';
import { parseIp, formatIp, stripBrackets } from './ip-address.js';
import type { EgressPolicy } from './ip-policy.js';
import { normalizeHostname } from './ip-policy.js';
import { systemLookup, type EgressLookup } from './lookup.js';

export interface EgressDispatcherOptions {
  policy: EgressPolicy;
  /** Sockets per origin (one pool per origin). Default 10. */
  connections?: number;
  /** Idle keep-alive socket lifetime. Default 4 000 ms (undici's). */
  keepAliveTimeoutMs?: number;
  /** Budget for DNS resolution and, separately, for each TCP/TLS connect attempt. Default 10 000 ms. */
  connectTimeoutMs?: number;
  /** Time to receive response headers. Default 30 000 ms (undici ships 300 s). */
  headersTimeoutMs?: number;
  /**
   * Idle time between body chunks. Default 30 000 ms. This is NOT a deadline: a
   * slow-drip upstream resets it forever, so every call also needs an AbortSignal.
   */
  bodyTimeoutMs?: number;
  /**
   * Backstop cap on any response body through this dispatcher (undici maxResponseSize,
   * unlimited as shipped). Per-call caps belong in readJsonBody. Default 16 MiB.
   */
  maxResponseBytes?: number;
  /** Name resolution; defaults to dns.lookup with all answers. Tests inject a scripted one. */
  lookup?: EgressLookup;
  /**
   * Opens the socket once an address is approved; receives an IP literal as `hostname`.
   * Defaults to undici's buildConnector. A test seam: a spy here proves what was (not) dialled.
   */
  connector?: buildConnector.connector;
}

export const EGRESS_DEFAULTS = {
  connections: 10,
  keepAliveTimeoutMs: 4_000,
  connectTimeoutMs: 10_000,
  headersTimeoutMs: 30_000,
  bodyTimeoutMs: 30_000,
  maxResponseBytes: 16 * 1024 * 1024,
} as const;

type ConnectOptions = buildConnector.Options;
type ConnectResult = { socket: Socket } | { error: Error };

function denied(reason: string, details: Record<string, unknown>): EgressDeniedError {
  return new EgressDeniedError(reason, { details });
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new errors.ConnectTimeoutError(`${what} took longer than ${ms} ms`)), ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function sameAddress(a: string, b: string): boolean {
  const pa = parseIp(a);
  const pb = parseIp(b);
  return pa !== undefined && pb !== undefined && formatIp(pa) === formatIp(pb);
}

/** Builds the policy-checking connector; exported so it can be tested without an Agent. */
export function createEgressConnector(options: EgressDispatcherOptions): buildConnector.connector {
  const { policy } = options;
  const connectTimeoutMs = options.connectTimeoutMs ?? EGRESS_DEFAULTS.connectTimeoutMs;
  const lookup = options.lookup ?? systemLookup;
  const base = options.connector ?? buildConnector({ timeout: connectTimeoutMs });

  /** Returns the approved addresses to try, in resolver order; throws if any is denied. */
  async function approvedAddresses(host: string): Promise<string[]> {
    if (isIP(host) !== 0) {
      const decision = policy.checkAddress(host);
      if (!decision.allowed) throw denied(decision.reason, { address: host });
      return [host];
    }
    // "localhost." is the fully-qualified "localhost"; getaddrinfo may not resolve the dotted form.
    const name = normalizeHostname(host);
    const answers = await withTimeout(lookup(name), connectTimeoutMs, `resolving ${name}`);
    if (answers.length === 0) {
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND', hostname: name });
    }
    for (const answer of answers) {
      const decision = policy.checkAddress(answer.address, name);
      if (!decision.allowed) {
        throw denied(decision.reason, { hostname: name, addresses: answers.map((a) => a.address) });
      }
    }
    return answers.map((a) => a.address);
  }

  function dial(opts: ConnectOptions, address: string, servername: string | undefined): Promise<ConnectResult> {
    return new Promise((resolve) => {
      const target: ConnectOptions = { ...opts, hostname: address };
      if (servername !== undefined) target.servername = servername;
      base(target, (error, socket) => {
        resolve(error === null ? { socket } : { error });
      });
    });
  }

  return (opts, callback) => {
    const host = stripBrackets(opts.hostname);
    const name = isIP(host) === 0 ? normalizeHostname(host) : undefined;
    // TLS must still verify the certificate against the name, not the IP we dial.
    const servername = opts.servername ?? name;

    const run = async (): Promise<Socket> => {
      const addresses = await approvedAddresses(host);
      let lastError: Error | undefined;
      // All candidates are approved; try them in order (e.g. ::1 then 127.0.0.1 for localhost).
      for (const address of addresses) {
        const result = await dial(opts, address, servername);
        if ('error' in result) {
          lastError = result.error;
          continue;
        }
        const { socket } = result;
        const remote = socket.remoteAddress;
        const decision = remote === undefined ? undefined : policy.checkAddress(remote, name);
        if (remote === undefined || !sameAddress(remote, address) || decision?.allowed !== true) {
          socket.destroy();
          const reason = decision !== undefined && !decision.allowed ? decision.reason : 'connected address does not match the approved one';
          throw denied(reason, { address, remoteAddress: remote });
        }
        return socket;
      }
      throw lastError ?? new Error(`no address to connect to for ${host}`);
    };

    run().then(
      (socket) => callback(null, socket),
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error)), null),
    );
  };
}

/**
 * An undici Agent (one keep-alive pool per origin) whose every connection passes the
 * egress policy. Pass it as `dispatcher` to undici's `request`.
 */
export function createEgressDispatcher(options: EgressDispatcherOptions): Dispatcher {
  return new Agent({
    connect: createEgressConnector(options),
    connections: options.connections ?? EGRESS_DEFAULTS.connections,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? EGRESS_DEFAULTS.keepAliveTimeoutMs,
    headersTimeout: options.headersTimeoutMs ?? EGRESS_DEFAULTS.headersTimeoutMs,
    bodyTimeout: options.bodyTimeoutMs ?? EGRESS_DEFAULTS.bodyTimeoutMs,
    maxResponseSize: options.maxResponseBytes ?? EGRESS_DEFAULTS.maxResponseBytes,
  });
}
