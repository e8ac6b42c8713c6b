import { z } from 'zod';
import { didYouMean, listNames } from '../flows/suggest.js';
import { TerminalError } from './failures.js';
import type { AdapterContext, RequestIssue } from './types.js';

/**
 * What the message publishers (amqp, nats, mqtt) share: a request naming one of the component's
 * declared destinations (written out in the flow file, never chosen by input), a JSON body and
 * string headers; the execution's stable idempotency key as the message id, so consumers and
 * brokers can de-duplicate across retries and resumes.
 */
export const MessageHeadersSchema = z.record(z.string().max(256), z.string().max(8192)).refine((headers) => Object.keys(headers).length <= 64, 'at most 64 headers');

export function publishRequestSchema(field: string): z.ZodType<PublishRequest> {
  return z
    .strictObject({ [field]: z.string().min(1).max(255), body: z.unknown(), headers: MessageHeadersSchema.optional() })
    .transform((value) => ({ destination: value[field] as string, body: value['body'], headers: (value['headers'] ?? {}) as Record<string, string> }));
}

export interface PublishRequest {
  readonly destination: string;
  readonly body: unknown;
  readonly headers: Readonly<Record<string, string>>;
}

/** Parses an evaluated request and checks its destination is declared (the load check already did for literals). */
export function parsePublish(schema: z.ZodType<PublishRequest>, raw: unknown, declared: readonly string[], what: string, component: string): PublishRequest {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'request'} ${issue.message}`).join('; ');
    throw new TerminalError(`invalid ${what} request for component "${component}": ${issues}`, { reason: 'MESSAGE_INVALID_REQUEST' });
  }
  if (!declared.includes(parsed.data.destination)) {
    throw new TerminalError(`component "${component}" may not publish to ${what} "${parsed.data.destination}"; declared: ${listNames([...declared])}`, { reason: 'MESSAGE_UNDECLARED_DESTINATION' });
  }
  return parsed.data;
}

/** Load-time check: the destination is written out and declared. */
export function checkDestination(template: unknown, field: string, declared: readonly string[]): RequestIssue[] {
  if (typeof template !== 'object' || template === null || Array.isArray(template)) {
    return [{ path: [], message: `a publish request is { ${field}: <one of ${listNames([...declared])}>, body, headers? }, written out in the flow file` }];
  }
  const value = (template as Record<string, unknown>)[field];
  if (typeof value !== 'string' || value.includes('{%')) {
    return [{ path: [field], message: `${field} must be one of the component's declared ${field}s (${listNames([...declared])}), written out: input never chooses where a message goes` }];
  }
  if (!declared.includes(value)) return [{ path: [field], message: `${field} "${value}" is not declared by the component${didYouMean(value, declared)}; declared: ${listNames([...declared])}` }];
  return [];
}

/** The message body as bytes: JSON (a string body is sent as a JSON string too, so consumers always parse JSON). */
export function encodeBody(body: unknown): Buffer {
  return Buffer.from(JSON.stringify(body ?? null));
}

/** Headers every message carries: the idempotency key and, when traced, the attempt's traceparent. */
export function messageHeaders(request: PublishRequest, ctx: AdapterContext): Record<string, string> {
  return {
    ...request.headers,
    'idempotency-key': ctx.idempotencyKey,
    'flowd-execution-id': ctx.executionId,
    ...(ctx.traceparent === undefined ? {} : { traceparent: ctx.traceparent }),
  };
}

/**
 * A readiness check that makes the broker answer (an open connection says nothing about a hung
 * broker): `send` does one round trip. A check still unanswered is shared by the checks after it,
 * so a hung broker does not pile requests up on the connection; each waits at most `ms`.
 */
export function roundTripCheck(send: () => Promise<unknown>, ms: number): () => Promise<void> {
  let inFlight: Promise<unknown> | undefined;
  return async () => {
    if (inFlight === undefined) {
      const started = send();
      const done = (): void => {
        if (inFlight === started) inFlight = undefined;
      };
      started.then(done, done);
      inFlight = started;
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`the broker did not answer within ${ms} ms`)), ms);
    });
    try {
      await Promise.race([inFlight, late]);
    } finally {
      clearTimeout(timer);
    }
  };
}

/** `scheme://user:pass@host:port` checked: the scheme is one of `schemes`; the URL itself never appears in messages. */
export function parseBrokerUrl(text: string, schemes: readonly string[], defaultPort: number): URL & { portNumber: number } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`url is not a URL: write ${schemes[0]}://user:password@host:${defaultPort}`);
  }
  const scheme = url.protocol.slice(0, -1);
  if (!schemes.includes(scheme)) throw new Error(`url scheme "${scheme}:" is not supported here: use ${schemes.map((s) => `${s}://`).join(' or ')}`);
  if (url.hostname === '') throw new Error('url has no host');
  return Object.assign(url, { portNumber: url.port === '' ? defaultPort : Number(url.port) });
}
