import { createHash, timingSafeEqual } from 'node:crypto';
import type { ApiKeyEntry } from './api-keys.js';
import type { Principal } from './scopes.js';

/** Why a request has no principal. */
export type AuthFailure = 'missing' | 'malformed' | 'invalid';

export type Authentication = { readonly principal: Principal } | { readonly failure: AuthFailure };

/** RFC 6750 `Bearer <token68>`; the scheme is case-insensitive. Keys longer than 512 characters are not keys. */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]{1,512}=*) *$/i;

/**
 * Checks `Authorization: Bearer <key>` against the configured hashes: the presented key is
 * hashed with SHA-256 and compared with every configured hash by `crypto.timingSafeEqual`,
 * without stopping at a match, so timing tells nothing about which hash (or how much of it) matched.
 */
export class ApiKeyVerifier {
  readonly #keys: readonly ApiKeyEntry[];

  constructor(keys: readonly ApiKeyEntry[]) {
    this.#keys = keys;
  }

  get size(): number {
    return this.#keys.length;
  }

  authenticate(header: string | string[] | undefined): Authentication {
    if (header === undefined || header === '') return { failure: 'missing' };
    if (Array.isArray(header)) return { failure: 'malformed' };
    const match = BEARER.exec(header);
    if (match === null) return { failure: 'malformed' };
    const entry = this.verify(match[1]!);
    return entry === undefined ? { failure: 'invalid' } : { principal: { name: entry.name, tenant: entry.tenant, grants: entry.grants } };
  }

  /** The entry whose hash is the SHA-256 of `key`, if any. */
  verify(key: string): ApiKeyEntry | undefined {
    const digest = createHash('sha256').update(key, 'utf8').digest();
    let found: ApiKeyEntry | undefined;
    for (const entry of this.#keys) {
      if (timingSafeEqual(digest, entry.hash) && found === undefined) found = entry;
    }
    return found;
  }
}
