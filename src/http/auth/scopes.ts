/**
 * What an API key may do, and what a route requires. Closed sets as `as const` objects.
 *
 * Scopes (in API_KEYS):
 *   flows:execute              execute every flow, cancel any execution
 *   flows:execute:<a>|<b>      execute (and cancel executions of) only the listed flows
 *   flows:read                 list flows, read definitions, diagrams and the API documents
 *   flows:deploy               reload the flows (POST /catalog/reload)
 *   executions:read            read the records (inputs, outputs), logs and list of its tenant's executions;
 *                              with flows:execute, cancel and retry them
 *   executions:read:all        the same for every tenant's executions (operators)
 *   admin                      everything, every tenant's executions, routes that declare no scope
 *
 * And one `tenant=<name>` item: the tenant the key belongs to (default: the key's own name). Keys
 * of one tenant share its executions and idempotency keys; other tenants' executions are, to it,
 * unknown ids (404).
 */
export const SCOPES = {
  FLOWS_EXECUTE: 'flows:execute',
  FLOWS_READ: 'flows:read',
  FLOWS_DEPLOY: 'flows:deploy',
  EXECUTIONS_READ: 'executions:read',
  EXECUTIONS_READ_ALL: 'executions:read:all',
  ADMIN: 'admin',
} as const;
export type Scope = (typeof SCOPES)[keyof typeof SCOPES];

/** The parsed permissions of one key. `execute` is every flow, or the set of flows listed. */
export interface Grants {
  readonly admin: boolean;
  readonly flowsRead: boolean;
  readonly flowsDeploy: boolean;
  readonly executionsRead: boolean;
  /** Every tenant's executions are visible (executions:read:all, admin). */
  readonly allTenants: boolean;
  readonly execute: 'all' | ReadonlySet<string>;
}

/** The caller behind a valid key. */
export interface Principal {
  /** The key's name from API_KEYS (never the key itself). */
  readonly name: string;
  /** The tenant whose executions it sees and starts. */
  readonly tenant: string;
  readonly grants: Grants;
}

/** Which flow an execute permission is checked against. */
export type FlowTarget =
  /** The flow named by a route parameter (`/flows/:name/execute`). */
  | { readonly param: string }
  /** A fixed flow (each flow's own documented route). */
  | { readonly flow: string }
  /** The flow of the execution named by a route parameter (`/executions/:id/cancel`). */
  | { readonly executionParam: string };

/**
 * What a route requires. Declared in route config as `config.auth`, or looked up in the table
 * of built-in routes (route-requirements.ts); a route with neither requires `admin`.
 */
export type RouteRequirement =
  | { readonly kind: 'public' }
  | { readonly kind: 'authenticated' }
  | { readonly kind: 'scope'; readonly scope: 'flows:read' | 'flows:deploy' | 'executions:read' | 'admin' }
  | { readonly kind: 'execute'; readonly target: FlowTarget };

export const PUBLIC: RouteRequirement = Object.freeze({ kind: 'public' });
export const AUTHENTICATED: RouteRequirement = Object.freeze({ kind: 'authenticated' });
export const ADMIN_ONLY: RouteRequirement = Object.freeze({ kind: 'scope', scope: 'admin' });

/** Whether `grants` may execute `flow` (undefined: any flow at all, e.g. an unknown execution). */
export function mayExecute(grants: Grants, flow: string | undefined): boolean {
  if (grants.admin || grants.execute === 'all') return true;
  return flow === undefined ? grants.execute.size > 0 : grants.execute.has(flow);
}

/** Whether `grants` hold a plain scope. */
export function hasScope(grants: Grants, scope: 'flows:read' | 'flows:deploy' | 'executions:read' | 'admin'): boolean {
  if (grants.admin) return true;
  if (scope === 'flows:read') return grants.flowsRead;
  if (scope === 'flows:deploy') return grants.flowsDeploy;
  if (scope === 'executions:read') return grants.executionsRead;
  return false;
}

/** The scope a requirement names, for 403 details and `WWW-Authenticate: … scope="…"`. */
export function describeRequirement(requirement: RouteRequirement, flow?: string): string {
  switch (requirement.kind) {
    case 'public':
    case 'authenticated':
      return '';
    case 'scope':
      return requirement.scope;
    case 'execute':
      return flow === undefined ? SCOPES.FLOWS_EXECUTE : `${SCOPES.FLOWS_EXECUTE}:${flow}`;
  }
}
