/**
 * Reads an upstream response body with explicit limits (SECURITY.md rule 8):
 *  - a hard byte cap counted on the bytes the stream actually delivers (a lying or
 *    missing content-length changes nothing), aborting the stream past it;
 *  - the caller's AbortSignal as the overall deadline, because undici's bodyTimeout is
 *    an idle timer that a slow-drip upstream resets forever;
 *  - JSON nested deeper than MAX_VALUE_NESTING refused (kind "protocol"), before any recursive walk;
 *  - JSON parsed with secure-json-parse. Choice: a body carrying `__proto__` or
 *    `constructor.prototype` keys is REJECTED (ComponentError, kind "protocol"), not
 *    silently cleaned: an upstream sending them is broken or hostile, and a flow should
 *    not carry on with data that differs from what was sent.
 *
 * Decompression is off by default, so flowd sends no accept-encoding and a body that
 * arrives with a content-encoding anyway is refused rather than parsed as garbage. If
 * decompression is ever enabled (undici's decompress interceptor), the stream handed to
 * readJsonBody carries decompressed bytes, so the same cap bounds a decompression bomb.
 */
import type { Readable } from 'node:stream';
import sjson from 'secure-json-parse';
import { ComponentError, FlowdError, LimitExceededError, TimeoutError } from '../../../errors.js';
import { MAX_VALUE_NESTING, findTooDeeplyNested } from '../../../limits/json-nesting.js';

/** A body to read: a Node.js Readable, as undici's BodyReadable is. */
export type ReadableBody = Readable;

/**
 * Destroys a body we will not read. undici's BodyReadable emits 'error' when destroyed
 * before its end, which would be an uncaught exception with no listener attached.
 */
function discard(body: ReadableBody, error?: Error): void {
  body.on('error', () => undefined);
  body.destroy(error);
}

type HeaderValue = string | string[] | undefined;

export interface ReadBodyOptions {
  /** Hard cap on received bytes. */
  maxBytes: number;
  /** The response's content-type header. JSON types are parsed; anything else is returned as text. */
  contentType?: HeaderValue;
  /** The response's content-encoding header; anything but identity is refused (decompression is off). */
  contentEncoding?: HeaderValue;
  /** Overall deadline / cancellation. Pass the same signal given to undici's request. */
  signal?: AbortSignal;
}

function first(value: HeaderValue): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function mediaType(contentType: HeaderValue): { type: string; charset: string | undefined } {
  const [type = '', ...params] = (first(contentType) ?? '').split(';');
  const charsetParam = params.map((p) => p.trim()).find((p) => p.toLowerCase().startsWith('charset='));
  const charset = charsetParam?.slice('charset='.length).replace(/^"|"$/g, '').trim();
  return { type: type.trim().toLowerCase(), charset: charset === '' ? undefined : charset };
}

/** application/json, text/json and any structured-syntax "+json" type (problem+json, vnd.api+json). */
export function isJsonContentType(contentType: HeaderValue): boolean {
  return isJsonMediaType(mediaType(contentType).type);
}

function isJsonMediaType(type: string): boolean {
  return type === 'application/json' || type === 'text/json' || (type.includes('/') && type.endsWith('+json'));
}

// A function, not an inline check: TS would otherwise keep a narrowing of `aborted` across awaits.
function isAborted(signal: AbortSignal): boolean {
  return signal.aborted;
}

/** Maps an abort to the error the engine should see. */
function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof FlowdError) return reason;
  if (reason instanceof Error && reason.name === 'TimeoutError') {
    return new TimeoutError('attempt', 'the response body did not arrive before the deadline', { cause: reason });
  }
  if (reason instanceof Error) return reason;
  return new Error('the response body read was aborted', { cause: reason });
}

// decode() without { stream: true } keeps no state between calls, so one instance serves every response.
const UTF8 = new TextDecoder('utf-8');

function decode(bytes: Buffer, charset: string | undefined): string {
  if (charset === undefined) return UTF8.decode(bytes);
  try {
    return new TextDecoder(charset).decode(bytes);
  } catch {
    // Unknown charset label: fall back to UTF-8 rather than failing the call.
    return UTF8.decode(bytes);
  }
}

/**
 * Collects the body's bytes up to the cap. Reads on 'readable' events rather than with an async
 * iterator: a response usually arrives in one or two chunks, and the iterator's promises and
 * stream-end tracking cost more than the reading itself.
 */
function readCapped(body: ReadableBody, maxBytes: number, signal: AbortSignal | undefined): Promise<Buffer> {
  if (signal !== undefined && isAborted(signal)) {
    const error = abortError(signal);
    discard(body, error);
    return Promise.reject(error);
  }
  // Events already emitted will not come again: a body destroyed before it is read has failed.
  if (body.destroyed || body.readableEnded) {
    discard(body);
    return Promise.reject(readFailure(body.errored ?? new Error('the response body was gone before it was read'), signal));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const settle = (error: Error | undefined): void => {
      if (settled) return;
      settled = true;
      body.off('readable', onReadable);
      body.off('end', onEnd);
      body.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
      if (error === undefined) resolve(Buffer.concat(chunks, received));
      else reject(error);
    };
    const onData = (chunk: Uint8Array | string): void => {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      received += buffer.byteLength;
      if (received > maxBytes) {
        const error = new LimitExceededError(`the response body exceeded ${maxBytes} bytes`, {
          details: { maxBytes, receivedBytes: received },
        });
        settle(error);
        body.destroy(error);
        return;
      }
      chunks.push(buffer);
    };
    // 'readable' and read(), as the async iterator reads, without its promises: it also reads a body
    // that was paused or that has another 'readable' listener (a 'data' listener would not).
    const onReadable = (): void => {
      let chunk: unknown;
      while (!settled && (chunk = body.read()) !== null) onData(chunk as Uint8Array | string);
    };
    const onEnd = (): void => settle(undefined);
    // Stays attached: a body destroyed after we settled still emits 'error'.
    const onError = (error: Error): void => settle(readFailure(error, signal));
    const onClose = (): void => settle(new ComponentError('reading the response body failed: the stream closed before its end', { kind: 'network' }));
    // Destroying the stream stops a drip that would otherwise outlive the signal.
    const onAbort = (): void => {
      const error = abortError(signal!);
      settle(error);
      body.destroy(error);
    };
    body.on('error', onError);
    body.on('readable', onReadable);
    body.on('end', onEnd);
    body.on('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function readFailure(error: Error, signal: AbortSignal | undefined): Error {
  if (signal !== undefined && isAborted(signal)) return abortError(signal);
  if (error instanceof FlowdError) return error;
  // The dispatcher's maxResponseBytes backstop fired before our own cap.
  if ((error as { code?: unknown } | null)?.code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') {
    return new LimitExceededError('the response body exceeded the dispatcher limit', { cause: error });
  }
  return new ComponentError('reading the response body failed', { kind: 'network' }, { cause: error });
}

/**
 * Reads and decodes a response body. JSON content types give the parsed value
 * (`undefined` for an empty body); other types give the text.
 */
export async function readJsonBody(body: ReadableBody, options: ReadBodyOptions): Promise<unknown> {
  const { maxBytes } = options;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
    throw new TypeError(`maxBytes must be a non-negative integer, got ${String(maxBytes)}`);
  }
  const encoding = first(options.contentEncoding)?.trim().toLowerCase();
  if (encoding !== undefined && encoding !== '' && encoding !== 'identity') {
    discard(body);
    throw new ComponentError(`upstream sent a ${encoding}-encoded body, and decompression is off`, { kind: 'protocol' });
  }
  const bytes = await readCapped(body, maxBytes, options.signal);
  const { type, charset } = mediaType(options.contentType);
  if (!isJsonMediaType(type)) return decode(bytes, charset);

  // RFC 8259: JSON exchanged between systems is UTF-8, whatever the charset parameter says.
  const text = decode(bytes, undefined);
  if (text.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = sjson.parse(text, null, { protoAction: 'error', constructorAction: 'error' }) as unknown;
  } catch (error) {
    const poisoned = error instanceof SyntaxError && error.message.includes('forbidden prototype property');
    throw new ComponentError(
      poisoned
        ? 'upstream JSON contains a __proto__ or constructor.prototype key (refused: prototype poisoning)'
        : 'upstream sent invalid JSON',
      { kind: 'protocol' },
      { cause: error },
    );
  }
  // JSON.parse builds any depth; the walks after it (serialising the record, the answer) do not.
  const tooDeep = findTooDeeplyNested(parsed);
  if (tooDeep !== undefined) {
    throw new ComponentError(`upstream JSON is nested deeper than ${MAX_VALUE_NESTING} levels (at ${tooDeep})`, { kind: 'protocol' });
  }
  return parsed;
}
