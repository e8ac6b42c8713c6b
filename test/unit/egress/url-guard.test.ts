import { describe, expect, it } from 'vitest';
import { EgressDeniedError } from '../../../src/errors.js';
import { assertSafeHeaders, buildTargetUrl, parseBaseUrl } from '../../../src/adapters/http/egress/url-guard.js';

describe('buildTargetUrl', () => {
  it.each([
    ['https://api.example.com', undefined, 'https://api.example.com/'],
    ['https://api.example.com', '/users/42', 'https://api.example.com/users/42'],
    ['https://api.example.com', 'users/42', 'https://api.example.com/users/42'],
    ['https://api.example.com/v1', '/users', 'https://api.example.com/v1/users'],
    ['https://api.example.com/v1/', '/users', 'https://api.example.com/v1/users'],
    ['https://api.example.com/v1/', '', 'https://api.example.com/v1/'],
    ['https://api.example.com:8443/v1/', '/users/', 'https://api.example.com:8443/v1/users/'],
    ['http://127.0.0.1:3000', '/a b/ä', 'http://127.0.0.1:3000/a%20b/%C3%A4'],
    ['https://api.example.com', '/users/@me', 'https://api.example.com/users/@me'],
    ['https://api.example.com', '/v1/projects/p:run', 'https://api.example.com/v1/projects/p:run'],
    ['https://api.example.com', '/groups/a%2Fb', 'https://api.example.com/groups/a%2Fb'],
    ['https://api.example.com', '/files/./x', 'https://api.example.com/files/x'],
    ['https://api.example.com', '/files/..config', 'https://api.example.com/files/..config'],
  ])('%s + %j = %s', (base, path, expected) => {
    expect(buildTargetUrl(base, { path }).href).toBe(expected);
  });

  it('encodes query values, repeating arrays and skipping null/undefined', () => {
    const url = buildTargetUrl('https://api.example.com/v1', {
      path: '/search',
      query: { q: 'a b&c', page: 2, exact: false, tag: ['x', 'y'], missing: undefined, none: null },
    });
    expect(url.href).toBe('https://api.example.com/v1/search?q=a+b%26c&page=2&exact=false&tag=x&tag=y');
  });

  it('leaves no "?" for an empty query', () => {
    expect(buildTargetUrl('https://api.example.com', { path: '/x', query: {} }).href).toBe('https://api.example.com/x');
  });

  it('accepts a query object without a prototype (as JSONata may build)', () => {
    const query = Object.assign(Object.create(null) as Record<string, unknown>, { a: '1' });
    expect(buildTargetUrl('https://api.example.com', { query }).search).toBe('?a=1');
  });

  it('throws EgressDeniedError, not retryable', () => {
    let error: unknown;
    try {
      buildTargetUrl('https://api.example.com', { path: '//evil.example' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(EgressDeniedError);
    expect((error as EgressDeniedError).retryable).toBe(false);
  });
});

describe('parseBaseUrl', () => {
  it('accepts http and https with a path prefix', () => {
    expect(parseBaseUrl('HTTPS://API.Example.com:443/v1').href).toBe('https://api.example.com/v1');
  });
});

describe('assertSafeHeaders', () => {
  it('returns lower-case names and string values', () => {
    expect(assertSafeHeaders({ 'X-Request-Id': 'abc', 'X-Count': 3, 'X-Flag': true, Authorization: 'Bearer t\tx', skip: null })).toEqual({
      'x-request-id': 'abc',
      'x-count': '3',
      'x-flag': 'true',
      authorization: 'Bearer t\tx',
    });
  });

  it('accepts Latin-1 values and absent headers', () => {
    expect(assertSafeHeaders({ 'x-name': 'café' })).toEqual({ 'x-name': 'café' });
    expect(assertSafeHeaders(undefined)).toEqual({});
  });

  it('refuses a non-object', () => {
    expect(() => assertSafeHeaders('x: y')).toThrow(EgressDeniedError);
    expect(() => assertSafeHeaders([['x', 'y']])).toThrow(EgressDeniedError);
  });
});
