import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppDeps } from './app-deps.js';
import { installAuthHooks, publicPathList, resolveAuthMode } from './auth/index.js';
import { loopbackHostGuard } from './host-guard.js';
import { createRateLimitHook, registerLoadShedding } from './overload/overload.js';
import { chainHooks, type OnRequestHook } from './router-errors.js';
import { createSensitiveFieldMatcher, parseRedactFields, redactSensitiveLogLine } from '../observability/sensitive-fields.js';

const LIVENESS_ROUTE = '/health/live';

/** Probes are never rate limited (a kubelet polling every few seconds must not be refused). */
function isProbe(request: FastifyRequest): boolean {
  return request.routeOptions.url?.startsWith('/health/') === true;
}

export interface Security {
  /** The body guard the caller's onSend hook applies to every string body (see createBodyGuard). */
  readonly protectBody: BodyGuard;
  /** The guards for a request no route matched (router errors): host check, authentication, rate limit, authorisation. */
  readonly admitUnmatched: OnRequestHook | undefined;
}

/**
 * The API's guards, in the order they run on every request (onRequest hooks):
 *   0. keyless loopback mode only: the Host must be a loopback name → 421 FLOWD_ERR_HOST_NOT_ALLOWED;
 *   1. event-loop-pressure shedding → 503 FLOWD_ERR_OVERLOADED (liveness exempt);
 *   2. authentication: reads `Authorization: Bearer <key>` (never answers by itself);
 *   3. rate limit per key, or per client IP without a valid key → 429 FLOWD_ERR_RATE_LIMITED;
 *   4. authorisation of the matched route → 401 FLOWD_ERR_UNAUTHENTICATED / 403 FLOWD_ERR_FORBIDDEN.
 * Hooks that would do nothing under the configuration are not added at all (no shedding at
 * MAX_EVENT_LOOP_DELAY_MS=0, no limit at RATE_LIMIT_PER_MINUTE=0, no auth hooks with auth off).
 *
 * Must be called on the root instance before any route is registered (the auth onRoute hook
 * resolves each route's requirement at registration). Throws ConfigurationError for auth
 * settings that must not start (no keys on a non-loopback address, malformed API_KEYS).
 */
export async function registerSecurity(app: FastifyInstance, deps: AppDeps): Promise<Security> {
  const { config } = deps;
  const mode = resolveAuthMode(config);
  const hostGuard = !mode.enabled && mode.reason === 'loopback' ? loopbackHostGuard : undefined;
  if (hostGuard !== undefined) app.addHook('onRequest', hostGuard);

  await registerLoadShedding(app, {
    maxEventLoopDelayMs: config.MAX_EVENT_LOOP_DELAY_MS,
    exempt: (request) => request.routeOptions.url === LIVENESS_ROUTE,
  });

  const auth = installAuthHooks(app, {
    mode,
    publicPaths: publicPathList(config.PUBLIC_PATHS),
    logger: app.log,
    flows: new Set(deps.flows.keys()),
    executionFlow: async (id, principal) => {
      const first = (await deps.reads.find(id, { tenant: principal.tenant, allTenants: principal.grants.allTenants }))?.entries[0];
      return first?.type === 'execution_started' ? first.flow : undefined;
    },
  });
  if (auth.authenticate !== undefined) app.addHook('onRequest', auth.authenticate);

  const rateLimit = await createRateLimitHook(app, {
    perMinute: config.RATE_LIMIT_PER_MINUTE,
    keyFor: (request) => {
      const principal = auth.principalOf(request);
      return principal === undefined ? `ip:${request.ip}` : `key:${principal.name}`;
    },
    exempt: isProbe,
  });
  if (rateLimit !== undefined) app.addHook('onRequest', rateLimit);

  if (auth.authorize !== undefined) app.addHook('onRequest', auth.authorize);

  const unmatched = [hostGuard, auth.authenticate, rateLimit, auth.authorize].filter((hook): hook is OnRequestHook => hook !== undefined);
  return { protectBody: createBodyGuard(deps), admitUnmatched: unmatched.length === 0 ? undefined : chainHooks(unmatched) };
}

/** Masks the secrets of one response body (string); the content type is read from the reply. */
export type BodyGuard = (reply: FastifyReply, body: string) => string;

/**
 * SECURITY rule 6: whatever a handler, an error or an upstream echo put in a body, no configured
 * secret value leaves in it (records, problems, flow details, API documents). Problem bodies are
 * error reports (they end up in gateway and client logs): sensitive fields are redacted in them
 * too, also inside messages built from data. Successful answers keep the output the caller asked for.
 */
export function createBodyGuard(deps: Pick<AppDeps, 'config' | 'secrets'>): BodyGuard {
  const isSensitive = createSensitiveFieldMatcher(parseRedactFields(deps.config.REDACT_FIELDS));
  return (reply, body) => {
    const masked = deps.secrets.size > 0 ? deps.secrets.maskText(body) : body;
    const type = reply.getHeader('content-type');
    return typeof type === 'string' && type.startsWith('application/problem+json') ? redactSensitiveLogLine(masked, isSensitive) : masked;
  };
}
