import type { FastifyReply, FastifyRequest } from 'fastify';
import { classifyAddress, stripBrackets } from '../adapters/http/egress/ip-address.js';
import { problem, sendProblem } from './problem.js';

/**
 * Whether a request's Host header names this machine's loopback: `localhost` (or a name under
 * `.localhost`), 127.0.0.0/8 in any spelling the URL parser accepts (`2130706433`, `0x7f.1`), `::1`,
 * an IPv4-mapped loopback; with or without a port. Browsers always send Host; a request without
 * one (HTTP/1.0 from a local tool) cannot come from a rebinding page and passes.
 */
export function isLoopbackHostHeader(host: string | undefined): boolean {
  if (host === undefined) return true;
  let hostname: string;
  try {
    hostname = new URL(`http://${host}`).hostname;
  } catch {
    return false;
  }
  const name = hostname.endsWith('.') ? hostname.slice(0, -1) : hostname;
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  return classifyAddress(stripBrackets(name))?.class === 'loopback';
}

/**
 * DNS rebinding guard for keyless loopback mode (SECURITY rule 4, turned inwards): a web page
 * on `evil.example` can make its own name resolve to 127.0.0.1 and then call flowd from the
 * victim's browser, which reaches the loopback port and sends `Host: evil.example`. Without API
 * keys nothing else stops it, so such a request gets 421 FLOWD_ERR_HOST_NOT_ALLOWED.
 */
export function loopbackHostGuard(request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void): void {
  if (isLoopbackHostHeader(request.headers.host)) return done();
  request.log.warn({ reason: 'host' }, 'request refused: Host is not a loopback name (keyless loopback mode)');
  void sendProblem(
    reply,
    problem('FLOWD_ERR_HOST_NOT_ALLOWED', 'without API keys this service answers only requests addressed to a loopback name (localhost, 127.0.0.1, [::1])', {
      instance: request.id,
    }),
  );
}
