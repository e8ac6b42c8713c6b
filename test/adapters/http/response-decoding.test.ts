import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readJsonBody } from '../../../src/adapters/http/egress/response.js';

const bodyOf = (...parts: Uint8Array[]) => Readable.from(parts);
const bytes = (...values: number[]) => Uint8Array.from(values);
const utf8 = (text: string) => new TextEncoder().encode(text);

/** What each read decoded to when every response got a fresh TextDecoder. */
function fresh(data: Uint8Array, charset = 'utf-8'): string {
  try {
    return new TextDecoder(charset).decode(data);
  } catch {
    return new TextDecoder('utf-8').decode(data);
  }
}

describe('readJsonBody decoding (one shared UTF-8 decoder)', () => {
  const cases: { name: string; data: Uint8Array; contentType?: string; charset?: string }[] = [
    { name: 'BOM then text', data: bytes(0xef, 0xbb, 0xbf, 0x61), contentType: 'text/plain' },
    { name: 'a truncated sequence at the end', data: bytes(0x61, 0xe2, 0x82), contentType: 'text/plain' },
    { name: 'invalid bytes', data: bytes(0xff, 0x62, 0xc0, 0x80), contentType: 'text/plain' },
    { name: 'no content type', data: utf8('héllo') },
    { name: 'latin-1', data: bytes(0xe9, 0x74, 0xe9), contentType: 'text/plain; charset=ISO-8859-1', charset: 'iso-8859-1' },
    { name: 'unknown charset falls back to UTF-8', data: utf8('ü'), contentType: 'text/plain; charset=x-nonsense', charset: 'x-nonsense' },
    { name: 'BOM again (no state carried over)', data: bytes(0xef, 0xbb, 0xbf, 0x62), contentType: 'text/plain' },
  ];

  it('decodes consecutive bodies exactly as a fresh decoder per body did', async () => {
    for (const { name, data, contentType, charset } of cases) {
      const text = await readJsonBody(bodyOf(data), { maxBytes: 100, ...(contentType === undefined ? {} : { contentType }) });
      expect(text, name).toBe(fresh(data, charset));
    }
  });

  it('after a truncated sequence, the next JSON body parses (no state left in the shared decoder)', async () => {
    await readJsonBody(bodyOf(bytes(0xe2, 0x82)), { maxBytes: 100, contentType: 'text/plain' });
    await expect(readJsonBody(bodyOf(utf8('\uFEFF{"a":"é"}')), { maxBytes: 100, contentType: 'application/json; charset=utf-8' })).resolves.toEqual({ a: 'é' });
    await expect(readJsonBody(bodyOf(utf8('{"b":1}')), { maxBytes: 100, contentType: 'application/problem+json' })).resolves.toEqual({ b: 1 });
    await expect(readJsonBody(bodyOf(utf8('{"b":1}')), { maxBytes: 100, contentType: 'text/json; charset=latin1' })).resolves.toEqual({ b: 1 });
  });
});
