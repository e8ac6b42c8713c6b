/**
 * Builds the target URL of an outbound call. The component's `base_url` (operator
 * configuration) fixes scheme, host, port and an optional path prefix; expressions
 * (untrusted: they see upstream data) only supply `path` and `query`.
 *
 * The base is parsed once with WHATWG URL and the expression path is applied with the
 * `pathname` setter, which cannot change the origin whatever the input. The explicit
 * rejections below exist anyway because (a) a request that looked like an SSRF attempt
 * should fail loudly rather than go somewhere odd, and (b) servers and proxies behind the
 * origin decode paths differently from WHATWG (%2e%2e, %5c, %0d%0a), so we refuse what
 * they might reinterpret.
 */
import { EgressDeniedError } from '../../../errors.js';

export interface TargetRequest {
  path?: unknown;
  query?: unknown;
}

const SCHEME_PREFIX = /^[a-zA-Z][a-zA-Z0-9+.-]*:/;
const ENCODED_CONTROL = /%(?:[01][0-9a-fA-F]|7[fF])/;
const ENCODED_BACKSLASH = /%5[cC]/;

/**
 * True if `text` has a C0 control character or DEL (HTAB optionally allowed). The URL
 * parser silently strips tab/CR/LF, so raw input must be tested before parsing.
 */
export function hasControlCharacter(text: string, allowTab = false): boolean {
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if ((code < 0x20 && !(allowTab && code === 0x09)) || code === 0x7f) return true;
  }
  return false;
}

function isLatin1(text: string): boolean {
  for (let i = 0; i < text.length; i += 1) if (text.charCodeAt(i) > 0xff) return false;
  return true;
}

function deny(message: string, details?: Record<string, unknown>): EgressDeniedError {
  return new EgressDeniedError(message, details === undefined ? {} : { details });
}

/** Parses and validates a component's base_url. */
export function parseBaseUrl(baseUrl: string | URL): URL {
  let url: URL;
  try {
    url = new URL(String(baseUrl));
  } catch {
    throw deny('base_url is not a valid absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw deny(`base_url must use http or https, not ${url.protocol.slice(0, -1)}`);
  }
  if (url.username !== '' || url.password !== '') {
    throw deny('base_url must not contain credentials; send them in a header');
  }
  if (url.search !== '' || url.hash !== '') {
    throw deny('base_url must not carry a query or fragment; use the request query');
  }
  return url;
}

/** Fully decodes a segment (up to 3 rounds, catching double encoding); undefined if malformed. */
function decodeSegment(segment: string): string | undefined {
  let current = segment;
  for (let round = 0; round < 3; round += 1) {
    let next: string;
    try {
      next = decodeURIComponent(current);
    } catch {
      return undefined;
    }
    if (next === current) return current;
    current = next;
  }
  return current;
}

/**
 * Whether a decoded path segment means "parent directory" to some server behind the origin:
 * `..` itself; `..;x` (Tomcat and Spring drop `;` path parameters before resolving, so `..;` climbs);
 * compatibility forms that Unicode-normalising servers fold into `..` (full-width `．．`, the
 * two-dot leader `‥`); trailing whitespace that some servers trim.
 */
function climbsUp(part: string): boolean {
  const folded = part.normalize('NFKC');
  const semicolon = folded.indexOf(';');
  const withoutParameters = semicolon === -1 ? folded : folded.slice(0, semicolon);
  return withoutParameters.trimEnd() === '..';
}

function assertSafePath(path: string): void {
  if (hasControlCharacter(path)) throw deny('path contains a control character (CR, LF, NUL, tab, …)');
  if (ENCODED_CONTROL.test(path)) throw deny('path contains a percent-encoded control character (e.g. %0d%0a, %00)');
  if (path.includes('\\') || ENCODED_BACKSLASH.test(path)) throw deny('path contains a backslash');
  if (SCHEME_PREFIX.test(path)) {
    throw deny('path looks like an absolute URL (it starts with a scheme); only a path is allowed, starting with "/"');
  }
  if (path.startsWith('//')) throw deny('path starts with "//" (a protocol-relative URL)');
  const firstSlash = path.indexOf('/');
  const at = path.indexOf('@');
  if (at !== -1 && (firstSlash === -1 || at < firstSlash)) {
    throw deny('path contains "@" before its first "/" (userinfo trick)');
  }
  if (path.includes('?') || path.includes('#')) {
    throw deny('path contains "?" or "#"; put query parameters in query');
  }
  for (const segment of path.split('/')) {
    const decoded = decodeSegment(segment);
    if (decoded === undefined) throw deny('path contains malformed percent-encoding');
    // A decoded segment may hide separators ("..%2f"), so split it again.
    if (decoded.split(/[/\\]/).some(climbsUp)) {
      throw deny('path contains a ".." segment (also refused percent-encoded, with ";" parameters or as full-width dots)');
    }
  }
}

function toQueryScalar(key: string, value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  throw deny(`query parameter "${key}" must be a string, finite number or boolean (or an array of them)`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Encodes the query object ('' when there is none). null/undefined values are omitted (optional parameters). */
function buildQuery(query: unknown): string {
  if (query === undefined || query === null) return '';
  if (!isPlainObject(query)) throw deny('query must be an object of parameter names to values');
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    const values: readonly unknown[] = Array.isArray(value) ? value : [value];
    for (const item of values) params.append(key, toQueryScalar(key, item));
  }
  return params.toString();
}

/** A checked base_url with what every call needs from it, computed once per component. */
export interface TargetBase {
  /** The base without a query (an empty "?" dropped): each call starts from this. */
  readonly href: string;
  readonly origin: string;
  /** The path prefix without its trailing "/" ("" for the root). */
  readonly prefix: string;
}

/** Parses and checks a base_url once (parseBaseUrl), for buildTargetUrl to reuse on every call. */
export function createTargetBase(baseUrl: string | URL): TargetBase {
  const base = parseBaseUrl(baseUrl);
  const prefix = base.pathname.endsWith('/') ? base.pathname.slice(0, -1) : base.pathname;
  base.search = '';
  return Object.freeze({ href: base.href, origin: base.origin, prefix });
}

/**
 * The URL an outbound call goes to: base_url's origin and path prefix, plus the
 * expression-supplied path and query. Throws EgressDeniedError before anything is sent.
 * Pass a TargetBase (createTargetBase) to skip re-checking the base on every call.
 */
export function buildTargetUrl(baseUrl: string | URL | TargetBase, request: TargetRequest): URL {
  const base = typeof baseUrl === 'string' || baseUrl instanceof URL ? createTargetBase(baseUrl) : baseUrl;
  const { prefix } = base;
  const url = new URL(base.href);

  const { path } = request;
  if (path !== undefined && path !== null) {
    if (typeof path !== 'string') throw deny(`path must be a string, got ${typeof path}`);
    if (path !== '') {
      assertSafePath(path);
      const relative = path.startsWith('/') ? path.slice(1) : path;
      url.pathname = `${prefix}/${relative}`;
    }
  }
  const search = buildQuery(request.query);
  if (search !== '') url.search = search;

  // Defence in depth: whatever happened above, the result must still be under the base.
  const underPrefix = url.pathname === (prefix === '' ? '/' : prefix) || url.pathname.startsWith(`${prefix}/`);
  if (url.origin !== base.origin || url.username !== '' || url.password !== '' || !underPrefix) {
    throw deny('the resulting URL leaves the configured base_url', { base: base.origin + prefix });
  }
  return url;
}

/**
 * buildTargetUrl for one component, remembering the URL of each query-less path it has checked and
 * built (the newest `max`, paths up to 1 024 characters): most flows call a handful of fixed or
 * templated paths, and the checks and the URL parsing come out the same each time. The URLs are
 * shared between calls: callers read them, never change them.
 */
export function createTargetResolver(base: TargetBase, max = 256): (path: unknown, query: unknown) => URL {
  const byPath = new Map<string, URL>();
  return (path, query) => {
    if ((query !== undefined && query !== null) || typeof path !== 'string' || path.length > 1024) return buildTargetUrl(base, { path, query });
    let url = byPath.get(path);
    if (url === undefined) {
      url = buildTargetUrl(base, { path });
      if (byPath.size >= max) byPath.delete(byPath.keys().next().value as string);
      byPath.set(path, url);
    }
    return url;
  };
}

// RFC 9110 token.
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Headers expressions may not set: hop-by-hop and framing headers (request smuggling,
 * connection reuse), `host` (routing), and `accept-encoding` (decompression is off, so
 * flowd must not invite an encoded body it would then treat as opaque bytes).
 */
export const FORBIDDEN_REQUEST_HEADERS: ReadonlySet<string> = new Set([
  'host',
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'content-length',
  'expect',
  'http2-settings',
  'accept-encoding',
]);

/**
 * Validates expression-built headers and returns them with lower-case names and string
 * values (finite numbers and booleans are stringified). Throws EgressDeniedError naming
 * the offending header.
 */
export function assertSafeHeaders(headers: unknown): Record<string, string> {
  if (headers === undefined || headers === null) return {};
  if (!isPlainObject(headers)) throw deny('headers must be an object of header names to values');
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!HEADER_NAME.test(name)) throw deny(`header name ${JSON.stringify(name)} is not a valid token`);
    const lower = name.toLowerCase();
    if (FORBIDDEN_REQUEST_HEADERS.has(lower)) throw deny(`header "${lower}" cannot be set by a flow`);
    if (Object.hasOwn(out, lower)) throw deny(`header "${lower}" is set twice (header names are case-insensitive)`);
    if (value === undefined || value === null) continue;
    let text: string;
    if (typeof value === 'string') text = value;
    else if (typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) text = String(value);
    else throw deny(`header "${lower}" must be a string, finite number or boolean`);
    // Field values: no C0 controls except HTAB, no DEL, Latin-1 only (what goes on the wire).
    if (hasControlCharacter(text, true) || !isLatin1(text)) {
      throw deny(`header "${lower}" contains CR, LF, NUL, another control character or a non-Latin-1 character`);
    }
    out[lower] = text;
  }
  return out;
}
