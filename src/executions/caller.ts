/** Who calls: the tenant an API key belongs to, and whether it may see every tenant's executions. */
export interface Caller {
  readonly tenant: string;
  /** Operators (`executions:read:all`): every tenant's executions are visible. */
  readonly allTenants: boolean;
}

/** The one tenant of a service without API keys (and of executions started through the library). */
export const LOCAL_TENANT = 'local';

/** Whoever calls a service without keys: everything belongs to the one local owner. */
export const LOCAL_CALLER: Caller = Object.freeze({ tenant: LOCAL_TENANT, allTenants: true });
