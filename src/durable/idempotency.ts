import { createHash } from 'node:crypto';
import { FlowdError } from '../errors.js';
import { canonicalJson } from '../flows/canonical-json.js';

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
