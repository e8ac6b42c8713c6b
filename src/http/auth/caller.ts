import type { FastifyRequest } from 'fastify';
import { LOCAL_CALLER, type Caller } from '../../executions/caller.js';
import type { Principal } from './scopes.js';

const PRINCIPAL = Symbol.for('flowd.principal');

/** Remembers who authenticated the request (set by the auth hook). */
export function setPrincipal(request: FastifyRequest, principal: Principal): void {
  (request as unknown as Record<symbol, Principal>)[PRINCIPAL] = principal;
}

/**
 * The caller behind a request: the tenant of its API key (operators with `admin` see every
 * tenant), or the one local owner when the service runs without keys.
 */
export function callerOf(request: FastifyRequest): Caller {
  const principal = (request as unknown as Record<symbol, Principal | undefined>)[PRINCIPAL];
  if (principal === undefined) return LOCAL_CALLER;
  return { tenant: principal.tenant, allTenants: principal.grants.allTenants };
}
