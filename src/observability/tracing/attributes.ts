import type { Attributes } from '@opentelemetry/api';
import type { RequestSentEntry } from '../../engine/journal/entries.js';
import type { ErrorSummary } from '../../engine/record.js';

/** The span attributes flowd sets (docs/tracing.md): names, statuses, codes — never inputs, outputs or headers. */
export const ATTR = {
  flow: 'flowd.flow.name',
  version: 'flowd.flow.version',
  executionId: 'flowd.execution.id',
  parentExecutionId: 'flowd.execution.parent_id',
  run: 'flowd.execution.run',
  abandoned: 'flowd.execution.abandoned',
  status: 'flowd.status',
  phase: 'flowd.phase.id',
  phaseKind: 'flowd.phase.kind',
  phaseKey: 'flowd.phase.key',
  mapIndex: 'flowd.phase.index',
  attempts: 'flowd.attempts',
  cached: 'flowd.phase.cached',
  fallback: 'flowd.phase.fallback',
  restored: 'flowd.phase.restored',
  compensation: 'flowd.compensation',
  component: 'flowd.component.name',
  adapter: 'flowd.component.adapter',
  attempt: 'flowd.attempt',
  outcome: 'flowd.attempt.outcome',
  retryInMs: 'flowd.attempt.retry_in_ms',
  errorCode: 'flowd.error.code',
  errorReason: 'flowd.error.reason',
  // OpenTelemetry semantic conventions (HTTP client spans, errors).
  errorType: 'error.type',
  httpMethod: 'http.request.method',
  url: 'url.full',
  httpStatus: 'http.response.status_code',
} as const;

/** What an attempt's `request_sent` says of an http call: method and URL (no query string, no user info, secrets masked). */
export function requestAttributes(entry: RequestSentEntry, mask: (text: string) => string): Attributes {
  const request = entry.request;
  if (typeof request !== 'object' || request === null) return {};
  const { method, url } = request as { method?: unknown; url?: unknown };
  const attributes: Attributes = {};
  if (typeof method === 'string') attributes[ATTR.httpMethod] = method.toUpperCase();
  if (typeof url === 'string') {
    const safe = safeUrl(url);
    if (safe !== undefined) attributes[ATTR.url] = mask(safe);
  }
  return attributes;
}

/** An http adapter's result carries its status. */
export function responseAttributes(response: unknown): Attributes {
  const status = typeof response === 'object' && response !== null ? (response as { status?: unknown }).status : undefined;
  return typeof status === 'number' ? { [ATTR.httpStatus]: status } : {};
}

export function errorAttributes(error: ErrorSummary): Attributes {
  const attributes: Attributes = { [ATTR.errorCode]: error.code, [ATTR.errorType]: error.code };
  if (error.reason !== undefined) attributes[ATTR.errorReason] = error.reason;
  if (error.status !== undefined) attributes[ATTR.httpStatus] = error.status;
  return attributes;
}

function safeUrl(text: string): string | undefined {
  try {
    const url = new URL(text);
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return undefined;
  }
}
