import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ComponentError, LimitExceededError, TimeoutError } from '../../../src/errors.js';
import { isJsonContentType, readJsonBody } from '../../../src/adapters/http/egress/response.js';

const body = (...chunks: Array<string | Buffer>): Readable => Readable.from(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c)));
const JSON_TYPE = 'application/json; charset=utf-8';

describe('readJsonBody', () => {
  it('parses JSON content types', async () => {
    await expect(readJsonBody(body('{"a":', '[1,2]}'), { maxBytes: 100, contentType: JSON_TYPE })).resolves.toEqual({ a: [1, 2] });
    await expect(readJsonBody(body('{"title":"x"}'), { maxBytes: 100, contentType: 'application/problem+json' })).resolves.toEqual({
      title: 'x',
    });
  });

  it('returns text for other content types and when there is none', async () => {
    await expect(readJsonBody(body('{"a":1}'), { maxBytes: 100, contentType: 'text/plain' })).resolves.toBe('{"a":1}');
    await expect(readJsonBody(body('hello'), { maxBytes: 100 })).resolves.toBe('hello');
  });

  it('decodes text with its charset', async () => {
    const latin1 = Buffer.from([0x63, 0x61, 0x66, 0xe9]);
    await expect(readJsonBody(body(latin1), { maxBytes: 100, contentType: 'text/plain; charset=ISO-8859-1' })).resolves.toBe('café');
  });

  it('strips a UTF-8 BOM before parsing JSON', async () => {
    await expect(readJsonBody(body('\uFEFF{"a":1}'), { maxBytes: 100, contentType: JSON_TYPE })).resolves.toEqual({ a: 1 });
  });

  it('gives undefined for an empty JSON body', async () => {
    await expect(readJsonBody(body(), { maxBytes: 100, contentType: JSON_TYPE })).resolves.toBeUndefined();
  });

  it('accepts exactly maxBytes and refuses one byte more, counting bytes not characters', async () => {
    await expect(readJsonBody(body('"éé"'), { maxBytes: 6, contentType: JSON_TYPE })).resolves.toBe('éé');
    const tooBig = body('"é', 'é"');
    await expect(readJsonBody(tooBig, { maxBytes: 5, contentType: JSON_TYPE })).rejects.toBeInstanceOf(LimitExceededError);
    expect(tooBig.destroyed).toBe(true);
  });

  it('refuses invalid JSON as a non-retryable protocol error', async () => {
    const error = await readJsonBody(body('{"a":'), { maxBytes: 100, contentType: JSON_TYPE }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ComponentError);
    expect(error).toMatchObject({ kind: 'protocol', retryable: false, message: 'upstream sent invalid JSON' });
  });

  it('refuses prototype-poisoning keys and leaves Object.prototype alone', async () => {
    await expect(readJsonBody(body('{"__proto__":{"x":1}}'), { maxBytes: 100, contentType: JSON_TYPE })).rejects.toThrow(
      /prototype poisoning/,
    );
    expect(({} as Record<string, unknown>)['x']).toBeUndefined();
    // A plain "constructor" key is harmless and kept.
    await expect(readJsonBody(body('{"constructor":"ok"}'), { maxBytes: 100, contentType: JSON_TYPE })).resolves.toEqual({
      constructor: 'ok',
    });
  });

  it('refuses an encoded body, since decompression is off', async () => {
    const encoded = body('xx');
    await expect(
      readJsonBody(encoded, { maxBytes: 100, contentType: JSON_TYPE, contentEncoding: 'gzip' }),
    ).rejects.toBeInstanceOf(ComponentError);
    expect(encoded.destroyed).toBe(true);
    await expect(readJsonBody(body('"x"'), { maxBytes: 100, contentType: JSON_TYPE, contentEncoding: 'identity' })).resolves.toBe('x');
  });

  it('maps an already-aborted timeout signal to TimeoutError', async () => {
    const signal = AbortSignal.abort(new DOMException('timed out', 'TimeoutError'));
    await expect(readJsonBody(body('{}'), { maxBytes: 100, signal })).rejects.toBeInstanceOf(TimeoutError);
  });

  it('passes a non-timeout abort reason through', async () => {
    const reason = new Error('cancelled by user');
    await expect(readJsonBody(body('{}'), { maxBytes: 100, signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
  });

  it('wraps stream failures as retryable network errors', async () => {
    const failing = new Readable({
      read() {
        this.destroy(Object.assign(new Error('socket hang up'), { code: 'UND_ERR_SOCKET' }));
      },
    });
    const error = await readJsonBody(failing, { maxBytes: 100 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'network', retryable: true });
  });

  it('fails a body that closes before its end, and one destroyed before it is read, as network errors', async () => {
    const cut = new Readable({ read() {} });
    cut.push(Buffer.from('{"a":'));
    setImmediate(() => cut.destroy());
    await expect(readJsonBody(cut, { maxBytes: 100, contentType: JSON_TYPE })).rejects.toMatchObject({ kind: 'network', retryable: true });

    const gone = body('{}');
    gone.on('error', () => undefined);
    gone.destroy(Object.assign(new Error('socket hang up'), { code: 'UND_ERR_SOCKET' }));
    await expect(readJsonBody(gone, { maxBytes: 100 })).rejects.toMatchObject({ kind: 'network', retryable: true });
  });

  it('reads a body that was paused, or has a readable listener, to its end', async () => {
    const paused = body('{"a":', '1}');
    paused.pause();
    await expect(readJsonBody(paused, { maxBytes: 100, contentType: JSON_TYPE })).resolves.toEqual({ a: 1 });
    const watched = body('{"b":2}');
    watched.on('readable', () => undefined);
    await expect(readJsonBody(watched, { maxBytes: 100, contentType: JSON_TYPE })).resolves.toEqual({ b: 2 });
  });

  it('validates maxBytes', async () => {
    await expect(readJsonBody(body(''), { maxBytes: -1 })).rejects.toThrow(TypeError);
  });
});

describe('isJsonContentType', () => {
  it.each([
    ['application/json', true],
    ['Application/JSON; charset=utf-8', true],
    ['application/vnd.api+json', true],
    ['text/json', true],
    ['text/plain', false],
    ['application/jsonp', false],
    ['+json', false],
    [undefined, false],
    [['application/json', 'text/plain'], true],
  ])('%j → %s', (type, expected) => {
    expect(isJsonContentType(type)).toBe(expected);
  });
});
