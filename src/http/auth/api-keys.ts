import { createHash, randomBytes } from 'node:crypto';
import { ConfigurationError, type ConfigurationIssue } from '../../errors.js';
import { FLOW_NAME_PATTERN } from '../../flows/schema.js';
import { SCOPES, type Grants } from './scopes.js';

/**
 * API keys are configured as hashes only: `API_KEYS` holds no key, so a leaked environment,
 * `docker inspect` or process listing gives nothing to call the API with.
 *
 * Format: entries separated by `;` (or new lines), each `name:sha256hex:scopes`, scopes separated
 * by `,`:
 *
 *   API_KEYS="ci:3f5a…64 hex…:flows:execute:order-fulfillment|shipping-quote;ops:9c1d…:flows:read,executions:read"
 *
 * - name: `^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`, unique; appears in logs and rate-limit buckets.
 * - sha256hex: SHA-256 of the key, 64 hex digits (`createApiKey()` or scripts/create-api-key.mjs).
 * - scopes: `flows:execute`, `flows:execute:<flow>|<flow>…`, `flows:read`, `flows:deploy`, `executions:read`, `admin`.
 *
 * Plain SHA-256 (not a slow password hash) is enough because keys are 256-bit random values:
 * there is nothing to brute-force from the hash.
 */
export interface ApiKeyEntry {
  readonly name: string;
  /** The SHA-256 digest of the key (32 bytes). */
  readonly hash: Buffer;
  readonly scopes: readonly string[];
  readonly grants: Grants;
  /** `tenant=<name>` in its scopes, else the key's name. */
  readonly tenant: string;
}

export const API_KEY_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const HASH_PATTERN = /^[0-9a-fA-F]{64}$/;
/** What `createApiKey()` generates: a prefix (so leaked keys are recognisable to scanners) and 256 random bits. */
export const API_KEY_PREFIX = 'flowd_';

/** SHA-256 of a key, hex: the value stored in API_KEYS. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Parses API_KEYS; every problem is collected (never echoing a hash), none thrown. */
export function parseApiKeys(text: string): { keys: ApiKeyEntry[]; issues: ConfigurationIssue[] } {
  const keys: ApiKeyEntry[] = [];
  const issues: ConfigurationIssue[] = [];
  const names = new Set<string>();
  const hashes = new Set<string>();
  const entries = text.split(/[;\n]/).map((entry) => entry.trim()).filter((entry) => entry !== '');
  entries.forEach((entry, index) => {
    const where = `API_KEYS[${index}]`;
    const report = (message: string): void => {
      issues.push({ file: 'environment', path: where, message });
    };
    const [name = '', hash = '', ...rest] = entry.split(':');
    const scopeText = rest.join(':');
    if (!API_KEY_NAME_PATTERN.test(name)) {
      report(`key name must match ${API_KEY_NAME_PATTERN.source} (entries are name:sha256hex:scope,scope)`);
      return;
    }
    if (names.has(name)) report(`key name "${name}" is used twice`);
    if (!HASH_PATTERN.test(hash)) {
      report(`key "${name}": the second field must be the SHA-256 of the key as 64 hex digits, never the key itself`);
      return;
    }
    const digest = hash.toLowerCase();
    if (hashes.has(digest)) report(`key "${name}": the same key hash is configured twice`);
    const parsed = parseScopes(scopeText);
    for (const problem of parsed.problems) report(`key "${name}": ${problem}`);
    if (parsed.problems.length > 0) return;
    names.add(name);
    hashes.add(digest);
    keys.push(Object.freeze({ name, hash: Buffer.from(digest, 'hex'), scopes: parsed.scopes, grants: parsed.grants, tenant: parsed.tenant ?? name }));
  });
  return { keys, issues };
}

/** Like parseApiKeys, but throws one ConfigurationError listing every problem. */
export function loadApiKeys(text: string): ApiKeyEntry[] {
  const { keys, issues } = parseApiKeys(text);
  if (issues.length > 0) throw new ConfigurationError(issues);
  return keys;
}

function parseScopes(text: string): { scopes: string[]; grants: Grants; tenant: string | undefined; problems: string[] } {
  const problems: string[] = [];
  const scopes = text.split(',').map((scope) => scope.trim()).filter((scope) => scope !== '');
  let admin = false;
  let flowsRead = false;
  let flowsDeploy = false;
  let executionsRead = false;
  let executeAll = false;
  let allTenants = false;
  let tenant: string | undefined;
  const flows = new Set<string>();
  if (scopes.length === 0) problems.push('has no scopes (one or more of: flows:execute, flows:execute:<flow>|<flow>, flows:read, flows:deploy, executions:read, admin)');
  for (const scope of scopes) {
    if (scope === SCOPES.ADMIN) admin = true;
    else if (scope === SCOPES.FLOWS_READ) flowsRead = true;
    else if (scope === SCOPES.FLOWS_DEPLOY) flowsDeploy = true;
    else if (scope === SCOPES.EXECUTIONS_READ) executionsRead = true;
    else if (scope === SCOPES.EXECUTIONS_READ_ALL) executionsRead = allTenants = true;
    else if (scope.startsWith('tenant=')) {
      const name = scope.slice('tenant='.length);
      if (!API_KEY_NAME_PATTERN.test(name)) problems.push(`tenant "${name}" must match ${API_KEY_NAME_PATTERN.source}`);
      else if (tenant !== undefined && tenant !== name) problems.push(`names two tenants ("${tenant}", "${name}"); a key belongs to one`);
      else tenant = name;
    }
    else if (scope === SCOPES.FLOWS_EXECUTE) executeAll = true;
    else if (scope.startsWith(`${SCOPES.FLOWS_EXECUTE}:`)) {
      const listed = scope.slice(SCOPES.FLOWS_EXECUTE.length + 1).split('|');
      for (const flow of listed) {
        if (FLOW_NAME_PATTERN.test(flow)) flows.add(flow);
        else problems.push(`"${flow}" in ${SCOPES.FLOWS_EXECUTE}:… is not a flow name (${FLOW_NAME_PATTERN.source})`);
      }
    } else {
      problems.push(`unknown scope "${scope}" (known: flows:execute, flows:execute:<flow>|<flow>, flows:read, flows:deploy, executions:read, executions:read:all, admin, tenant=<name>)`);
    }
  }
  const grants: Grants = Object.freeze({ admin, flowsRead, flowsDeploy, executionsRead, allTenants: allTenants || admin, execute: executeAll ? 'all' : (flows as ReadonlySet<string>) });
  return { scopes, grants, tenant, problems };
}

export interface CreatedApiKey {
  /** The key to hand to the client, once. It is not stored anywhere. */
  readonly key: string;
  /** SHA-256 hex of the key. */
  readonly hash: string;
  /** The API_KEYS entry (`name:hash:scopes`) to append, `;`-separated, to API_KEYS. */
  readonly entry: string;
}

/**
 * Creates a new random key and its API_KEYS entry. Throws ConfigurationError for a bad name or
 * scope, so what it prints is always accepted at start.
 */
export function createApiKey(options: { name: string; scopes: readonly string[] }, random: (size: number) => Buffer = randomBytes): CreatedApiKey {
  const key = `${API_KEY_PREFIX}${random(32).toString('base64url')}`;
  const hash = hashApiKey(key);
  const entry = `${options.name}:${hash}:${options.scopes.join(',')}`;
  loadApiKeys(entry);
  return { key, hash, entry };
}
