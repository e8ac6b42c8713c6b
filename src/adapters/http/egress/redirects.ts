/**
 * Redirect handling for outbound calls (SECURITY.md rule 4).
 *
 * Default: redirects are NOT followed; with `maxRedirects: 0` (a component without
 * `follow_redirects`) the 3xx is returned to the caller as the response. The egress
 * dispatcher never follows redirects on its own either.
 *
 * When a component enables `follow_redirects: N`, each hop:
 *  - gets its Location parsed once with WHATWG URL against the current URL and must be
 *    http(s) without userinfo or control characters;
 *  - may leave the first request's origin only if `isOriginAllowed(url)` says so;
 *  - is sent through the same egress dispatcher, so the connector checks the address
 *    actually connected to again (an allowed origin still cannot reach 127.0.0.1 or
 *    169.254.169.254 unless EGRESS_ALLOW opens it);
 *  - drops authorization/cookie/proxy-authorization, and every header the hop names as
 *    configured (a component's static headers: API keys live there), once the origin
 *    changes; they stay dropped for the rest of the chain (as fetch does for credentials);
 *  - counts against `maxRedirects`; one more is a LimitExceededError.
 */
import { EgressDeniedError, LimitExceededError } from '../../../errors.js';
import { hasControlCharacter } from './url-guard.js';

export const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

export const CREDENTIAL_HEADERS: readonly string[] = ['authorization', 'cookie', 'proxy-authorization'];

/** Headers that describe a request body; removed when a redirect turns the request into a GET. */
const BODY_HEADERS: readonly string[] = ['content-type', 'content-encoding', 'content-language', 'content-location'];

export interface RedirectHop {
  url: URL;
  method: string;
  /** Lower-case names (as assertSafeHeaders returns them). */
  headers: Record<string, string>;
  /** Must be replayable for 307/308, so no streams. */
  body?: string | Uint8Array | undefined;
  /** Lower-case names of headers from the component's configuration: dropped, like credentials, when the origin changes. */
  configuredHeaders?: readonly string[] | undefined;
}

export interface RedirectResponse {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: { dump(opts?: { limit: number }): Promise<void> };
}

export interface FollowRedirectsOptions {
  /** Hops to follow; 0 (the default per component) returns the 3xx as the response. */
  maxRedirects: number;
  /** May the chain go to this origin? Default: only the first request's origin. */
  isOriginAllowed?: (url: URL) => boolean;
}

export interface FollowedResponse<R> {
  response: R;
  /** The URL that produced `response`. */
  url: URL;
  redirects: number;
}

/** Parses a Location header against the current URL and applies the URL rules. */
export function resolveRedirectTarget(location: string, current: URL): URL {
  // The URL parser silently strips tab/CR/LF, so refuse them on the raw value.
  if (hasControlCharacter(location)) throw new EgressDeniedError('redirect Location contains a control character');
  let next: URL;
  try {
    next = new URL(location, current);
  } catch {
    throw new EgressDeniedError('redirect Location is not a valid URL');
  }
  if (next.protocol !== 'http:' && next.protocol !== 'https:') {
    throw new EgressDeniedError(`redirect to a ${next.protocol.slice(0, -1)} URL refused`);
  }
  if (next.username !== '' || next.password !== '') {
    throw new EgressDeniedError('redirect Location contains credentials');
  }
  next.hash = '';
  return next;
}

function headerValue(headers: RedirectResponse['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

async function discard(response: RedirectResponse): Promise<void> {
  // A redirect body is small or irrelevant; dump() destroys the stream past the limit.
  await response.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
}

function nextHop(hop: RedirectHop, status: number, url: URL): RedirectHop {
  const headers = { ...hop.headers };
  if (url.origin !== hop.url.origin) {
    for (const name of CREDENTIAL_HEADERS) delete headers[name];
    for (const name of hop.configuredHeaders ?? []) delete headers[name];
  }
  const { configuredHeaders } = hop;
  // 303 always becomes GET (except HEAD); 301/302 turn POST into GET, as every client does.
  const toGet = (status === 303 && hop.method !== 'HEAD') || ((status === 301 || status === 302) && hop.method === 'POST');
  if (!toGet) return { url, method: hop.method, headers, body: hop.body, configuredHeaders };
  for (const name of BODY_HEADERS) delete headers[name];
  return { url, method: 'GET', headers, body: undefined, configuredHeaders };
}

/**
 * Sends `first` with `send` (which must use the egress dispatcher) and follows redirects
 * as configured. The returned response's body is unread; the caller reads and closes it.
 */
export async function followRedirects<R extends RedirectResponse>(
  first: RedirectHop,
  send: (hop: RedirectHop) => Promise<R>,
  options: FollowRedirectsOptions,
): Promise<FollowedResponse<R>> {
  const { maxRedirects } = options;
  if (!Number.isSafeInteger(maxRedirects) || maxRedirects < 0) {
    throw new TypeError(`maxRedirects must be a non-negative integer, got ${String(maxRedirects)}`);
  }
  const isOriginAllowed = options.isOriginAllowed ?? (() => false);
  const firstOrigin = first.url.origin;
  let hop = first;
  let redirects = 0;

  for (;;) {
    const response = await send(hop);
    const location = headerValue(response.headers, 'location');
    if (maxRedirects === 0 || !REDIRECT_STATUSES.has(response.statusCode) || location === undefined) {
      return { response, url: hop.url, redirects };
    }
    await discard(response);
    if (redirects >= maxRedirects) {
      throw new LimitExceededError(`more than ${maxRedirects} redirect${maxRedirects === 1 ? '' : 's'}`, {
        details: { maxRedirects, lastUrl: hop.url.origin + hop.url.pathname },
      });
    }
    const target = resolveRedirectTarget(location, hop.url);
    if (target.origin !== firstOrigin && !isOriginAllowed(target)) {
      throw new EgressDeniedError(`redirect to ${target.origin} refused: origin not allowed for this component`, {
        details: { from: hop.url.origin, to: target.origin },
      });
    }
    hop = nextHop(hop, response.statusCode, target);
    redirects += 1;
  }
}
