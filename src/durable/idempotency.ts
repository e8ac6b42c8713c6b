import { createHash } from 'node:crypto';
import { FlowdError } from '../errors.js';

/** Idempotency-Key values: 1–255 visible ASCII characters; a quoted sf-string is unquoted first. */
const KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * Reads the `Idempotency-Key` header (IETF httpapi draft): undefined when absent, a
 * FLOWD_ERR_REQUEST_INVALID when present but malformed or repeated.
 */
export function parseIdempotencyKey(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (Array.isArray(header)) throw new FlowdError('FLOWD_ERR_REQUEST_INVALID', 'send one Idempotency-Key header, not several');
  let value = header.trim();
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
  if (!KEY.test(value)) {
    throw new FlowdError('FLOWD_ERR_REQUEST_INVALID', 'Idempotency-Key must be 1 to 255 visible ASCII characters');
  }
  return value;
}

/**
 * The stored key: callers' keys are scoped by tenant (the same key from two tenants names two
 * requests), and flowd's own (triggers) live in a separate namespace.
 */
export function callerKey(tenant: string, key: string): string {
  return `u:${tenant}:${key}`;
}

export function triggerKey(parentId: string, flow: string, fingerprint: string): string {
  return `t:${parentId}:${flow}:${fingerprint}`;
}

/** What makes two requests "the same": the flow and its input (object keys in any order). */
export function fingerprint(flow: string, input: unknown): string {
  return createHash('sha256').update(flow).update('\u0000').update(canonicalJson(input)).digest('hex');
}

/** JSON with object keys sorted, so `{a,b}` and `{b,a}` fingerprint alike. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, item]) => item !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
}
