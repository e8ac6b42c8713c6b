/** Outbound-call guards for the http component adapter. See each module for the why. */
export { classifyAddress, type AddressClass, type AddressInfo, type Embedding } from './ip-address.js';
export {
  createEgressPolicy,
  normalizeHostname,
  parseAllowList,
  type EgressDecision,
  type EgressPolicy,
  type EgressPolicyOptions,
} from './ip-policy.js';
export {
  assertSafeHeaders,
  buildTargetUrl,
  createTargetBase,
  createTargetResolver,
  FORBIDDEN_REQUEST_HEADERS,
  parseBaseUrl,
  type TargetBase,
  type TargetRequest,
} from './url-guard.js';
export {
  createEgressConnector,
  createEgressDispatcher,
  EGRESS_DEFAULTS,
  type EgressDispatcherOptions,
} from './dispatcher.js';
export { createRebindingTestResolver, systemLookup, type EgressLookup, type LookupAnswer, type ScriptedLookup } from './lookup.js';
export { isJsonContentType, readJsonBody, type ReadableBody, type ReadBodyOptions } from './response.js';
export {
  CREDENTIAL_HEADERS,
  followRedirects,
  REDIRECT_STATUSES,
  resolveRedirectTarget,
  type FollowedResponse,
  type FollowRedirectsOptions,
  type RedirectHop,
  type RedirectResponse,
} from './redirects.js';
