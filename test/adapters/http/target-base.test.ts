import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EgressDeniedError } from '../../../src/errors.js';
import { buildTargetUrl, createTargetBase, createTargetResolver, parseBaseUrl, type TargetRequest } from '../../../src/adapters/http/egress/url-guard.js';

/**
 * The target URL as buildTargetUrl computed it before the base was compiled once per component:
 * base re-parsed per call, path through the pathname setter, query always assigned. Only valid for
 * requests buildTargetUrl accepts (the refusals come from the same checks either way).
 */
function referenceHref(baseUrl: string, request: TargetRequest): string {
  const base = parseBaseUrl(baseUrl);
  const prefix = base.pathname.endsWith('/') ? base.pathname.slice(0, -1) : base.pathname;
  const url = new URL(base.href);
  const { path } = request;
  if (typeof path === 'string' && path !== '') url.pathname = `${prefix}/${path.startsWith('/') ? path.slice(1) : path}`;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries((request.query ?? {}) as Record<string, unknown>)) {
    if (value === undefined || value === null) continue;
    for (const item of Array.isArray(value) ? (value as unknown[]) : [value]) params.append(key, String(item));
  }
  url.search = params.toString();
  return url.href;
}

function outcome(run: () => URL): string {
  try {
    return run().href;
  } catch (error) {
    return error instanceof EgressDeniedError ? `denied: ${error.message}` : `other: ${String(error)}`;
  }
}

const BASES = [
  'https://api.example.com',
  'https://api.example.com/',
  'https://api.example.com/v1',
  'https://api.example.com/v1/',
  'http://127.0.0.1:3001',
  'https://api.example.com/v1/?', // an empty query passes parseBaseUrl; the target never carries the "?"
  'https://api.example.com/v1#', // an empty fragment passes too, and stays (undici never sends it)
];

describe('createTargetBase (the base_url checked once per component)', () => {
  it('gives the same URL as checking the base on every call, for paths and queries', () => {
    const segment = fc.constantFrom('a', 'b b', 'ä', '%2F', '.', '..x', '@me', 'p:run', '', '~');
    const path = fc.option(fc.array(segment, { maxLength: 4 }).map((parts) => parts.join('/')), { nil: undefined });
    const rooted = fc.tuple(fc.boolean(), path).map(([slash, p]) => (slash && p !== undefined ? `/${p}` : p));
    const scalar = fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), fc.boolean(), fc.constant(null));
    const query = fc.option(fc.dictionary(fc.constantFrom('q', 'n', 'a b', 'ü'), fc.oneof(scalar, fc.array(scalar, { maxLength: 2 }))), { nil: undefined });
    fc.assert(
      fc.property(fc.constantFrom(...BASES), rooted, query, (baseUrl, p, q) => {
        const request: TargetRequest = { path: p, query: q };
        const compiled = outcome(() => buildTargetUrl(createTargetBase(baseUrl), request));
        expect(compiled).toBe(outcome(() => buildTargetUrl(baseUrl, request)));
        if (!compiled.startsWith('denied')) expect(compiled).toBe(referenceHref(baseUrl, request));
      }),
      { numRuns: 3_000 },
    );
  });

  it.each([
    ['https://api.example.com/v1/?', { path: '/x' }, 'https://api.example.com/v1/x'],
    ['https://api.example.com/v1/?', { path: '/x', query: { a: 1 } }, 'https://api.example.com/v1/x?a=1'],
    ['https://api.example.com/v1/?', {}, 'https://api.example.com/v1/'],
    ['https://api.example.com/v1#', { path: '/x' }, 'https://api.example.com/v1/x#'],
    ['https://api.example.com', { path: '/x', query: { none: null } }, 'https://api.example.com/x'],
  ])('%s + %j = %s', (baseUrl, request, expected) => {
    expect(buildTargetUrl(createTargetBase(baseUrl), request).href).toBe(expected);
    expect(referenceHref(baseUrl, request)).toBe(expected);
  });

  it('refuses a bad base_url when created, and a bad path or query on every call', () => {
    expect(() => createTargetBase('file:///etc/passwd')).toThrow(EgressDeniedError);
    const base = createTargetBase('https://api.example.com/v1');
    expect(() => buildTargetUrl(base, { path: '/../admin' })).toThrow(/"\.\."/);
    expect(() => buildTargetUrl(base, { path: '//evil.example' })).toThrow(/protocol-relative/);
    expect(() => buildTargetUrl(base, { query: ['a'] })).toThrow(/query must be an object/);
    expect(() => buildTargetUrl(base, { query: { q: Number.NaN } })).toThrow(/finite number/);
  });

  it('is frozen, so one component cannot change the base another call uses', () => {
    const base = createTargetBase('https://api.example.com/v1/');
    expect(base).toEqual({ href: 'https://api.example.com/v1/', origin: 'https://api.example.com', prefix: '/v1' });
    expect(Object.isFrozen(base)).toBe(true);
  });
});

describe('createTargetResolver (the URL of a path remembered per component)', () => {
  it('answers what buildTargetUrl answers, the first time and from memory, refusals included', () => {
    const segment = fc.constantFrom('a', 'b b', '%2F', '..', '..x', '@me', '', '~', '%0d');
    const path = fc.option(fc.array(segment, { maxLength: 3 }).map((parts) => `/${parts.join('/')}`), { nil: undefined });
    const query = fc.option(fc.dictionary(fc.constantFrom('q', 'n'), fc.integer()), { nil: undefined });
    fc.assert(
      fc.property(fc.constantFrom(...BASES), fc.array(fc.tuple(path, query), { minLength: 1, maxLength: 6 }), (baseUrl, requests) => {
        const base = createTargetBase(baseUrl);
        const resolve = createTargetResolver(base, 3);
        for (const [p, q] of [...requests, ...requests]) {
          expect(outcome(() => resolve(p, q))).toBe(outcome(() => buildTargetUrl(base, { path: p, query: q })));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('builds a query-less path once and keeps only the newest paths', () => {
    const resolve = createTargetResolver(createTargetBase('https://api.example.com/v1'), 2);
    const first = resolve('/a', undefined);
    expect(resolve('/a', undefined)).toBe(first);
    expect(resolve('/a', { q: 1 }).href).toBe('https://api.example.com/v1/a?q=1');
    resolve('/b', undefined);
    resolve('/c', undefined);
    expect(resolve('/a', undefined)).not.toBe(first);
    expect(resolve('/a', undefined).href).toBe(first.href);
    expect(() => resolve('/../admin', undefined)).toThrow(EgressDeniedError);
    expect(() => resolve('/../admin', undefined)).toThrow(EgressDeniedError);
  });
});
