import { ADMIN_ONLY, AUTHENTICATED, PUBLIC, type RouteRequirement } from './scopes.js';

const FLOWS_READ: RouteRequirement = Object.freeze({ kind: 'scope', scope: 'flows:read' });
const EXECUTIONS_READ: RouteRequirement = Object.freeze({ kind: 'scope', scope: 'executions:read' });
const EXECUTE_NAMED: RouteRequirement = Object.freeze({ kind: 'execute', target: Object.freeze({ param: 'name' }) });

/**
 * Scopes of the built-in routes, keyed by `METHOD route-pattern` (HEAD is checked as GET).
 * A route can also declare its own with `config: { auth: RouteRequirement }`, which wins.
 * A route found in neither place requires `admin` (fail closed) and is named in a warning at start.
 */
export const BUILTIN_ROUTE_REQUIREMENTS: Readonly<Record<string, RouteRequirement>> = Object.freeze({
  // Public by default through PUBLIC_PATHS; if removed from it, any valid key.
  'GET /health/live': AUTHENTICATED,
  'GET /health/ready': AUTHENTICATED,
  // The API documents list every flow and its input schema.
  'GET /openapi.json': FLOWS_READ,
  'GET /docs/json': FLOWS_READ,
  'GET /docs/yaml': FLOWS_READ,
  // Swagger UI's page and assets hold no data (the page fetches /docs/json with the user's key),
  // and a browser cannot send a key when it navigates to a page.
  'GET /docs': PUBLIC,
  'GET /docs/': PUBLIC,
  'GET /docs/static/index.html': PUBLIC,
  'GET /docs/static/swagger-initializer.js': PUBLIC,
  'GET /docs/static/*': PUBLIC,
  'GET /flows': FLOWS_READ,
  'GET /flows/:name': FLOWS_READ,
  'GET /flows/:name/diagram': FLOWS_READ,
  'GET /flows/:name/doc': FLOWS_READ,
  'GET /flows/:name/versions/:version': FLOWS_READ,
  'POST /flows/:name/execute': EXECUTE_NAMED,
  'POST /flows/:name/versions/:version/execute': EXECUTE_NAMED,
  'GET /catalog': FLOWS_READ,
  'POST /catalog/reload': Object.freeze({ kind: 'scope', scope: 'flows:deploy' }),
  'GET /executions': EXECUTIONS_READ,
  'GET /executions/:id': EXECUTIONS_READ,
  'GET /executions/:id/logs': EXECUTIONS_READ,
  'POST /executions/:id/cancel': Object.freeze({ kind: 'execute', target: Object.freeze({ executionParam: 'id' }) }),
  'POST /executions/:id/retry': Object.freeze({ kind: 'execute', target: Object.freeze({ executionParam: 'id' }) }),
  // Like cancel: the execution's flow's execute scope, and being allowed to read the execution (its tenant).
  'POST /executions/:id/signals/:name': Object.freeze({ kind: 'execute', target: Object.freeze({ executionParam: 'id' }) }),
  // The token in the path is the credential (single use, unguessable, expiring with its wait).
  'POST /callbacks/:token': PUBLIC,
});

/** Route prefixes whose other GET routes share a requirement (any further Swagger UI route). */
const PREFIX_REQUIREMENTS: readonly { prefix: string; requirement: RouteRequirement }[] = [{ prefix: '/docs', requirement: FLOWS_READ }];

/** The requirement of a route from its own config, the built-in table, or `admin`. */
export function requirementForRoute(method: string, url: string, declared: unknown): { requirement: RouteRequirement; defaulted: boolean } {
  if (isRouteRequirement(declared)) return { requirement: declared, defaulted: false };
  const verb = method === 'HEAD' ? 'GET' : method;
  const builtin = BUILTIN_ROUTE_REQUIREMENTS[`${verb} ${url}`];
  if (builtin !== undefined) return { requirement: builtin, defaulted: false };
  if (verb === 'GET') {
    const shared = PREFIX_REQUIREMENTS.find(({ prefix }) => url === prefix || url.startsWith(`${prefix}/`));
    if (shared !== undefined) return { requirement: shared.requirement, defaulted: false };
  }
  return { requirement: ADMIN_ONLY, defaulted: true };
}

function isRouteRequirement(value: unknown): value is RouteRequirement {
  if (typeof value !== 'object' || value === null) return false;
  const kind = (value as { kind?: unknown }).kind;
  return kind === 'public' || kind === 'authenticated' || kind === 'scope' || kind === 'execute';
}
