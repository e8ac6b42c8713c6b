import { setPrincipal } from './caller.js';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { problem, sendProblem } from '../problem.js';
import { isPublicRoute, type AuthMode } from './auth-mode.js';
import { ApiKeyVerifier, type AuthFailure, type Authentication } from './authenticate.js';
import { requirementForRoute } from './route-requirements.js';
import { AUTHENTICATED, PUBLIC, describeRequirement, hasScope, mayExecute, type Principal, type RouteRequirement } from './scopes.js';

/** Where the resolved requirement of a route is kept in its config (a symbol: no route can spoof it by accident). */
const REQUIREMENT = Symbol.for('flowd.auth.requirement');

export interface AuthHooksOptions {
  readonly mode: AuthMode;
  /** PUBLIC_PATHS entries (see isPublicRoute). */
  readonly publicPaths: readonly string[];
  readonly logger: FastifyBaseLogger;
  /** Flow names loaded, to warn about keys that list unknown flows. */
  readonly flows: ReadonlySet<string>;
  /** The flow of an execution (running or stored), for `flows:execute:<flow>` on cancel. */
  /** The flow of an execution the principal may see (undefined for unknown and foreign ids alike). */
  executionFlow(executionId: string, principal: Principal): Promise<string | undefined>;
}

/** A callback-style onRequest hook (no promise per request): calls `done`, or answers and does not. */
type OnRequest = (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) => void;

export interface AuthHooks {
  /** Reads the key; never answers. Runs first so the rate limit can key on the caller. Undefined when auth is off. */
  readonly authenticate: OnRequest | undefined;
  /** Answers 401/403 for requests the matched route does not allow. Undefined when auth is off. */
  readonly authorize: OnRequest | undefined;
  /** The caller behind a request, once `authenticate` ran (undefined: none, or auth is off). */
  principalOf(request: FastifyRequest): Principal | undefined;
}

const REALM = 'Bearer realm="flowd"';

/**
 * Authorises the *matched route*, never the URL string (SECURITY rule 9). Fastify's router has
 * already decoded and matched the path, so `/flows/x%2Fexecute`, `//flows/x/execute`,
 * `/FLOWS/x/execute` or a trailing slash either match the very route whose requirement is checked
 * or match no route at all (then any valid key is required before the 404 is shown). A flow named
 * in the path is read from the decoded route parameter, the same value the handler uses.
 *
 * Each route's requirement is resolved once, when the route is registered (onRoute): its
 * `config.auth`, else the built-in table, else `admin`; PUBLIC_PATHS make a route public.
 * The onRoute hook is installed here, so this must run before any route is registered.
 */
export function installAuthHooks(app: FastifyInstance, options: AuthHooksOptions): AuthHooks {
  const { mode } = options;
  const verifier = new ApiKeyVerifier(mode.enabled ? mode.keys : []);
  const authentications = new WeakMap<FastifyRequest, Authentication>();
  const defaulted: string[] = [];
  const sensitivePublic: string[] = [];

  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const declared = (route.config as { auth?: unknown } | undefined)?.auth;
    let requirement: RouteRequirement;
    if (isPublicRoute(route.url, options.publicPaths)) {
      requirement = PUBLIC;
      const wouldNeed = methods.map((method) => requirementForRoute(method, route.url, declared).requirement);
      if (wouldNeed.some((r) => r.kind === 'execute' || (r.kind === 'scope' && r.scope !== 'flows:read'))) sensitivePublic.push(`${methods.join(',')} ${route.url}`);
    } else {
      const resolved = methods.map((method) => requirementForRoute(method, route.url, declared));
      // A multi-method route must agree; if not, the strictest (admin) applies.
      const first = resolved[0]!;
      const consistent = resolved.every((r) => JSON.stringify(r.requirement) === JSON.stringify(first.requirement));
      requirement = consistent ? first.requirement : { kind: 'scope', scope: 'admin' };
      if (resolved.some((r) => r.defaulted)) defaulted.push(`${methods.join(',')} ${route.url}`);
    }
    route.config = { ...(route.config), [REQUIREMENT]: requirement } as typeof route.config;
  });

  app.addHook('onReady', async () => {
    logStartupWarnings(options, defaulted, sensitivePublic);
  });

  const requirementOf = (request: FastifyRequest): RouteRequirement => {
    // routeOptions is a getter that builds a new object on every read: read it once.
    const route = request.routeOptions;
    // No matched route: the 404 is shown only to a valid key, so routes cannot be probed anonymously.
    if (route.url === undefined) return AUTHENTICATED;
    const config = route.config as unknown as Record<symbol, RouteRequirement | undefined>;
    return config[REQUIREMENT] ?? { kind: 'scope', scope: 'admin' };
  };

  const authenticate: OnRequest = (request, _reply, done) => {
    const authentication = verifier.authenticate(request.headers.authorization);
    authentications.set(request, authentication);
    if ('principal' in authentication) setPrincipal(request, authentication.principal);
    done();
  };

  const authorize: OnRequest = (request, reply, done) => {
    const requirement = requirementOf(request);
    if (requirement.kind === 'public') return done();
    const auth = authentications.get(request) ?? verifier.authenticate(request.headers.authorization);
    if ('failure' in auth) return void unauthenticated(request, reply, auth.failure);
    const { principal } = auth;
    const conclude = (decision: Decision): void => {
      if (decision.allowed) done();
      else forbidden(request, reply, principal, decision.needed);
    };
    // Only a route that names an execution has to look it up; every other decision is immediate.
    const decision = decide(principal, requirement, request, options);
    if (decision instanceof Promise) decision.then(conclude).catch(done);
    else conclude(decision);
  };

  return {
    authenticate: mode.enabled ? authenticate : undefined,
    authorize: mode.enabled ? authorize : undefined,
    principalOf: (request) => {
      const auth = authentications.get(request);
      return auth !== undefined && 'principal' in auth ? auth.principal : undefined;
    },
  };
}

interface Decision {
  readonly allowed: boolean;
  readonly needed: string;
}

/** Whether `principal` meets `requirement`; a promise only when the flow of an execution must be looked up. */
function decide(principal: Principal, requirement: RouteRequirement, request: FastifyRequest, options: AuthHooksOptions): Decision | Promise<Decision> {
  const { grants } = principal;
  switch (requirement.kind) {
    case 'public':
    case 'authenticated':
      return { allowed: true, needed: '' };
    case 'scope':
      return { allowed: hasScope(grants, requirement.scope), needed: requirement.scope };
    case 'execute': {
      const target = requirement.target;
      const params = (request.params ?? {}) as Record<string, unknown>;
      const executeDecision = (flow: string | undefined): Decision => ({ allowed: mayExecute(grants, flow), needed: describeRequirement(requirement, flow) });
      if ('flow' in target) return executeDecision(target.flow);
      if ('param' in target) return executeDecision(typeof params[target.param] === 'string' ? (params[target.param] as string) : '');
      // Acting on an execution (cancel, retry) also needs to be allowed to read it.
      if (!hasScope(grants, 'executions:read')) return { allowed: false, needed: `${describeRequirement(requirement)}, executions:read` };
      const id = params[target.executionParam];
      if (typeof id !== 'string') return executeDecision(undefined);
      // An unknown or foreign id resolves to no flow: the route itself answers 404, never a 403 that would confirm it exists.
      return options.executionFlow(id, principal).catch(() => undefined).then(executeDecision);
    }
  }
}

const FAILURE_DETAIL: Record<AuthFailure, string> = {
  missing: 'this route needs an API key: send "Authorization: Bearer <key>"',
  malformed: 'the Authorization header must be "Bearer <key>"',
  invalid: 'the API key is not valid',
};

function unauthenticated(request: FastifyRequest, reply: FastifyReply, failure: AuthFailure): FastifyReply {
  request.log.info({ reason: failure, route: request.routeOptions.url }, 'request not authenticated');
  void reply.header('www-authenticate', failure === 'missing' ? REALM : `${REALM}, error="invalid_token"`);
  return sendProblem(reply, problem('FLOWD_ERR_UNAUTHENTICATED', FAILURE_DETAIL[failure], { instance: request.id }));
}

function forbidden(request: FastifyRequest, reply: FastifyReply, principal: Principal, needed: string): FastifyReply {
  request.log.warn({ key: principal.name, needed, route: request.routeOptions.url, method: request.method }, 'request forbidden: missing scope');
  // The scope may carry a flow name from the URL: only a plain one goes into a header (no CR/LF, NUL, quotes).
  const scope = /^[a-z:]+(:[a-z0-9_-]{1,64})?$/.test(needed) ? needed : needed.split(':').slice(0, 2).join(':');
  void reply.header('www-authenticate', `${REALM}, error="insufficient_scope", scope="${scope}"`);
  return sendProblem(
    reply,
    problem('FLOWD_ERR_FORBIDDEN', `API key "${principal.name}" lacks the scope this route needs: ${needed}`, { instance: request.id }),
  );
}

function logStartupWarnings(options: AuthHooksOptions, defaulted: readonly string[], sensitivePublic: readonly string[]): void {
  const { mode, logger } = options;
  if (!mode.enabled) {
    logger.warn(
      { reason: mode.reason },
      mode.reason === 'explicit'
        ? 'authentication is DISABLED (AUTH_DISABLED=true): every caller can execute flows and read executions'
        : 'authentication is disabled: no API_KEYS and bound to loopback only; every local caller can execute flows and read executions',
    );
    return;
  }
  if (mode.ignoredAuthDisabled) logger.warn({}, 'AUTH_DISABLED=true is ignored because API_KEYS are configured');
  if (sensitivePublic.length > 0) logger.warn({ routes: sensitivePublic }, 'PUBLIC_PATHS makes routes that execute flows or show executions public');
  if (defaulted.length > 0) logger.warn({ routes: defaulted }, 'routes without a declared scope require the admin scope');
  for (const key of mode.keys) {
    if (key.grants.execute === 'all') continue;
    const unknown = [...key.grants.execute].filter((flow) => !options.flows.has(flow));
    if (unknown.length > 0) logger.warn({ key: key.name, flows: unknown }, 'API key lists flows that are not loaded');
  }
}
