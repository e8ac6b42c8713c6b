import type { Dispatcher } from 'undici';
import { z } from 'zod';
import { ComponentError, isFlowdError } from '../../errors.js';
import type { AdapterContext, ComponentAdapter } from '../types.js';
import { HTTP_METHODS, HTTP_REQUEST_KEYS, checkHttpRequestTemplate } from './request-check.js';
import {
  assertSafeHeaders,
  createTargetBase,
  createTargetResolver,
  followRedirects,
  readJsonBody,
  type RedirectHop,
} from './egress/index.js';

export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;

export const HttpConfigSchema = z.strictObject({
  /** Fixes scheme, host, port and an optional path prefix; expressions can never change them. */
  base_url: z.string().url(),
  /** Static headers sent with every call (may use `${secret:NAME}`). */
  headers: z.record(z.string(), z.string()).optional(),
  max_response_bytes: z.number().int().min(1).max(64 * 1024 * 1024).optional(),
  /** Redirects to follow (each hop re-checked); 0 returns the 3xx as the result. */
  follow_redirects: z.number().int().min(0).max(10).optional(),
  /** Other origins a redirect may go to (origins like https://cdn.example). */
  redirect_origins: z.array(z.string().url()).optional(),
});
export type HttpConfig = z.infer<typeof HttpConfigSchema>;

export const HttpRequestSchema = z.strictObject({
  method: z.enum(HTTP_METHODS).optional(),
  path: z.string().max(8192).optional(),
  query: z.record(z.string(), z.unknown()).optional(),
  headers: z.record(z.string(), z.string()).optional(),
  body: z.unknown().optional(),
});
export type HttpRequest = z.infer<typeof HttpRequestSchema>;

const METHODS: ReadonlySet<string> = new Set(HTTP_METHODS);
const REQUEST_KEYS: ReadonlySet<string> = new Set(HTTP_REQUEST_KEYS);

/** A plain object with string keys only and no own `constructor` function (zod's notion of a plain object). */
function isPlainRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  if (Object.getOwnPropertySymbols(value).length > 0) return false;
  return !(Object.hasOwn(value, 'constructor') && typeof (value as { constructor: unknown }).constructor === 'function');
}

/**
 * The request a phase's expression built, checked on every call. What HttpRequestSchema accepts is
 * recognised here without zod (its strictObject copies the request and sets up its issue tracking
 * on each call, a measurable share of a small call); anything else goes through the schema, whose
 * messages say what is wrong. test/adapters/http/request-check.test.ts holds the two to the same answers.
 */
export function parseHttpRequest(raw: unknown): { success: true; data: HttpRequest } | { success: false; error: z.ZodError } {
  if (raw === undefined || raw === null) return { success: true, data: {} };
  if (isPlainRecord(raw) && isWellFormed(raw)) return { success: true, data: raw };
  return HttpRequestSchema.safeParse(raw);
}

function isWellFormed(request: Record<string, unknown>): boolean {
  for (const key in request) if (!REQUEST_KEYS.has(key)) return false;
  const { method, path, query, headers } = request;
  if (method !== undefined && (typeof method !== 'string' || !METHODS.has(method))) return false;
  if (path !== undefined && (typeof path !== 'string' || path.length > 8192)) return false;
  if (query !== undefined && !isPlainRecord(query)) return false;
  if (headers !== undefined) {
    if (!isPlainRecord(headers)) return false;
    for (const name in headers) if (typeof headers[name] !== 'string') return false;
  }
  return true;
}

export interface HttpResult {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

export interface HttpAdapterOptions {
  /** The egress-checked, pooled dispatcher shared by every http component. */
  dispatcher: Dispatcher;
  /**
   * Masks secret values in a text (the SecretStore's). An error body is cut to 2 048 characters
   * for the record; masking it only afterwards would miss a secret cut in two, and its first part
   * would reach records and logs.
   */
  maskText?: (text: string) => string;
}

/**
 * Calls an HTTP upstream with undici over a pooled keep-alive dispatcher (one pool per origin).
 * JSON in and out; a non-2xx answer becomes a ComponentError carrying the status. Sends an
 * `Idempotency-Key` stable across retries and resumes, and the attempt's `traceparent`.
 * Retries are the engine's job: this adapter makes exactly one attempt.
 */
export function createHttpAdapter(options: HttpAdapterOptions): ComponentAdapter<HttpConfig> {
  return {
    kind: 'http',
    configSchema: HttpConfigSchema,
    requestSchema: HttpRequestSchema,
    create(config, init) {
      const base = createTargetBase(config.base_url);
      const targetOf = createTargetResolver(base);
      const staticHeaders = assertSafeHeaders(config.headers ?? {});
      const configuredHeaders = Object.keys(staticHeaders);
      const maxBytes = config.max_response_bytes ?? DEFAULT_MAX_RESPONSE_BYTES;
      const redirectOrigins = new Set((config.redirect_origins ?? []).map((origin) => new URL(origin).origin));
      return {
        async execute(raw, ctx) {
          const parsed = parseHttpRequest(raw);
          if (!parsed.success) {
            throw new ComponentError(`invalid http request for component "${init.name}": ${parsed.error.issues.map((i) => `${i.path.join('.') || 'request'} ${i.message}`).join('; ')}`, { kind: 'protocol' }, { retryable: false, recoverable: false });
          }
          const request = parsed.data;
          const url = targetOf(request.path, request.query);
          const headers: Record<string, string> = { ...staticHeaders, ...assertSafeHeaders(request.headers ?? {}) };
          headers['idempotency-key'] ??= ctx.idempotencyKey;
          if (ctx.traceparent !== undefined) headers['traceparent'] = ctx.traceparent;
          let body: string | undefined;
          if (request.body !== undefined && request.method !== 'GET' && request.method !== 'HEAD') {
            if (typeof request.body === 'string') {
              body = request.body;
              headers['content-type'] ??= 'text/plain; charset=utf-8';
            } else {
              body = JSON.stringify(request.body);
              headers['content-type'] ??= 'application/json';
            }
          }
          headers['accept'] ??= 'application/json';
          const first: RedirectHop = { url, method: request.method ?? (body === undefined ? 'GET' : 'POST'), headers, body, configuredHeaders };
          // What the journal shows of this attempt: as sent (secrets are masked when it is shown).
          ctx.sent?.({ method: first.method, url: url.href, headers, ...(request.body === undefined || body === undefined ? {} : { body: request.body }) });
          return send(options, first, config, redirectOrigins, maxBytes, ctx, init.name);
        },
        checkRequest: checkHttpRequestTemplate,
        describe: () => ({ target: base.origin }),
      };
    },
  };
}

async function send(
  { dispatcher, maskText }: HttpAdapterOptions,
  first: RedirectHop,
  config: HttpConfig,
  redirectOrigins: ReadonlySet<string>,
  maxBytes: number,
  ctx: AdapterContext,
  component: string,
): Promise<HttpResult> {
  try {
    const { response } = await followRedirects(
      first,
      (hop) =>
        // What undici's request(url, { dispatcher }) passes on, without its URL re-parsing and option copy.
        dispatcher.request({
          origin: hop.url.origin,
          path: hop.url.search === '' ? hop.url.pathname : `${hop.url.pathname}${hop.url.search}`,
          method: hop.method,
          headers: hop.headers,
          body: hop.body,
          signal: ctx.signal,
        }),
      { maxRedirects: config.follow_redirects ?? 0, isOriginAllowed: (target) => redirectOrigins.has(target.origin) },
    );
    const body = await readJsonBody(response.body, {
      maxBytes,
      contentType: response.headers['content-type'],
      contentEncoding: response.headers['content-encoding'],
      signal: ctx.signal,
    });
    const headers = flattenHeaders(response.headers);
    if (response.statusCode < 200 || response.statusCode >= 300) {
      const retryAfter = parseRetryAfter(headers['retry-after']);
      throw new ComponentError(`component "${component}" answered ${response.statusCode}`, {
        kind: 'status',
        upstreamStatus: response.statusCode,
        body: truncate(typeof body === 'string' && maskText !== undefined ? maskText(body) : body),
        ...(retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter }),
      });
    }
    return { status: response.statusCode, headers, body };
  } catch (error) {
    if (isFlowdError(error) || ctx.signal.aborted) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new ComponentError(`component "${component}" is unreachable: ${message}`, { kind: 'network' }, { cause: error });
  }
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/** Seconds from a Retry-After header: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}

/** Cuts a text body to size for the record; mask secrets first (see HttpAdapterOptions.maskText). */
function truncate(body: unknown): unknown {
  if (typeof body === 'string') return body.length > 2048 ? `${body.slice(0, 2048)}…` : body;
  return body;
}
