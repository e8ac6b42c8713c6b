import { ConfigurationError, type ConfigurationIssue } from '../../errors.js';
import { parseApiKeys, type ApiKeyEntry } from './api-keys.js';

/** The settings the auth decision reads (a subset of EnvConfig, so config/env.ts can call this). */
export interface AuthEnv {
  readonly HOST: string;
  readonly API_KEYS: string;
  readonly AUTH_DISABLED: boolean;
  readonly PUBLIC_PATHS: string;
}

export type AuthMode =
  | { readonly enabled: true; readonly keys: readonly ApiKeyEntry[]; readonly ignoredAuthDisabled: boolean }
  | { readonly enabled: false; readonly reason: 'loopback' | 'explicit' };

/**
 * Auth is on whenever keys are configured (AUTH_DISABLED is then ignored, with a warning).
 * Without keys it is off only when bound to loopback (local exploration) or when
 * AUTH_DISABLED=true says so explicitly; bound to any other address it refuses to start.
 */
export function authProblems(env: AuthEnv): ConfigurationIssue[] {
  const { issues, keys } = parseApiKeys(env.API_KEYS);
  const problems = [...issues];
  if (env.API_KEYS.trim() !== '' && keys.length === 0 && issues.length === 0) {
    problems.push({ file: 'environment', path: 'API_KEYS', message: 'is set but holds no key entry' });
  }
  if (env.API_KEYS.trim() === '' && !env.AUTH_DISABLED && !isLoopbackHost(env.HOST)) {
    problems.push({
      file: 'environment',
      path: 'API_KEYS',
      message: `is required when HOST (${env.HOST}) is not a loopback address: set API_KEYS (see README, Security), or AUTH_DISABLED=true to run without authentication on purpose`,
    });
  }
  for (const entry of publicPathList(env.PUBLIC_PATHS)) {
    if (!entry.startsWith('/')) problems.push({ file: 'environment', path: 'PUBLIC_PATHS', message: `"${entry}" must start with "/"` });
  }
  return problems;
}

/** The auth mode, or a ConfigurationError for settings that must not start. */
export function resolveAuthMode(env: AuthEnv): AuthMode {
  const problems = authProblems(env);
  if (problems.length > 0) throw new ConfigurationError(problems);
  const { keys } = parseApiKeys(env.API_KEYS);
  if (keys.length > 0) return { enabled: true, keys, ignoredAuthDisabled: env.AUTH_DISABLED };
  return { enabled: false, reason: env.AUTH_DISABLED ? 'explicit' : 'loopback' };
}

/** PUBLIC_PATHS, split and trimmed. */
export function publicPathList(text: string): string[] {
  return text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

/**
 * Whether a route pattern is public. An entry matches one route pattern exactly (`/openapi.json`,
 * `/flows/:name`); an entry ending in `/*` also matches every pattern below it at a segment
 * boundary (`/docs/*` covers `/docs/json` and `/docs/static/*`, not `/docsx`). Matched against the
 * route pattern the router chose, never against the raw URL. Exact by default so that
 * `PUBLIC_PATHS=/flows` cannot open `/flows/:name/execute` by accident.
 */
export function isPublicRoute(routePattern: string, publicPaths: readonly string[]): boolean {
  return publicPaths.some((entry) => {
    if (!entry.endsWith('/*')) return routePattern === entry;
    const base = entry.slice(0, -2);
    return routePattern === base || routePattern.startsWith(`${base}/`);
  });
}

export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase();
  return h === 'localhost' || h === '::1' || h === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}
