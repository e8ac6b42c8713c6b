/** API-key authentication and route authorisation (see README, Security). */
export { API_KEY_PREFIX, createApiKey, hashApiKey, loadApiKeys, parseApiKeys, type ApiKeyEntry, type CreatedApiKey } from './api-keys.js';
export { authProblems, isLoopbackHost, isPublicRoute, publicPathList, resolveAuthMode, type AuthEnv, type AuthMode } from './auth-mode.js';
export { ApiKeyVerifier, type AuthFailure, type Authentication } from './authenticate.js';
export { installAuthHooks, type AuthHooks, type AuthHooksOptions } from './auth-hooks.js';
export { BUILTIN_ROUTE_REQUIREMENTS, requirementForRoute } from './route-requirements.js';
export { SCOPES, type FlowTarget, type Grants, type Principal, type RouteRequirement, type Scope } from './scopes.js';
