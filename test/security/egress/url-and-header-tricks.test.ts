/**
 * Expressions fill only path, query and headers. Every trick that could move the
 * request to another origin, escape the base path, or inject a header is refused with
 * an EgressDeniedError before anything is sent. (Nothing here opens a socket.)
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EgressDeniedError } from '../../../src/errors.js';
import { assertSafeHeaders, buildTargetUrl } from '../../../src/adapters/http/egress/url-guard.js';

const BASE = 'https://api.example.com/v1/';

function refusal(fn: () => unknown): EgressDeniedError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(EgressDeniedError);
    return error as EgressDeniedError;
  }
  throw new Error('expected a refusal');
}

describe('path tricks', () => {
  it.each([
    ['absolute URL', 'http://evil.example/x', /absolute URL/],
    ['absolute https URL', 'https://evil.example', /absolute URL/],
    ['javascript scheme', 'javascript:alert(1)', /absolute URL/],
    ['file scheme', 'file:///etc/passwd', /absolute URL/],
    ['userinfo with scheme-like prefix', 'user:pass@evil.example/x', /absolute URL/],
    ['protocol-relative', '//evil.example/x', /protocol-relative/],
    ['backslash protocol-relative', '\\\\evil.example\\x', /backslash/],
    ['slash-backslash', '/\\evil.example', /backslash/],
    ['encoded backslash', '/a%5c..%5cadmin', /backslash/],
    ['userinfo', '@evil.example/x', /"@" before/],
    ['userinfo without slash', 'me@evil.example', /"@" before/],
    ['dot-dot', '../admin', /"\.\."/],
    ['dot-dot escaping the prefix', '/a/../../admin', /"\.\."/],
    ['encoded dot-dot', '%2e%2e/admin', /"\.\."/],
    ['mixed-case encoded dot-dot', '/%2E%2e/admin', /"\.\."/],
    ['half-encoded dot-dot', '/.%2e/admin', /"\.\."/],
    ['dot-dot with encoded slash', '/..%2fadmin', /"\.\."/],
    ['double-encoded dot-dot', '/%252e%252e/admin', /"\.\."/],
    ['dot-dot with a path parameter (Tomcat, Spring)', '/..;/admin', /"\.\."/],
    ['dot-dot with a named path parameter', '/a/..;jsessionid=1/..;/admin', /"\.\."/],
    ['encoded dot-dot with a path parameter', '/%2e%2e;/admin', /"\.\."/],
    ['encoded dot-dot with an encoded semicolon', '/%2e%2e%3b/admin', /"\.\."/],
    ['full-width dots', '/\uff0e\uff0e/admin', /"\.\."/],
    ['percent-encoded full-width dots', '/%EF%BC%8E%EF%BC%8E/admin', /"\.\."/],
    ['two-dot leader', '/\u2025/admin', /"\.\."/],
    ['dot-dot with trailing space', '/..%20/admin', /"\.\."/],
    ['CRLF', '/x\r\nHost: evil.example', /control character/],
    ['LF', '/x\nX: y', /control character/],
    ['NUL', '/x\u0000y', /control character/],
    ['tab', '/x\ty', /control character/],
    ['encoded CRLF', '/x%0d%0aHost:%20evil.example', /percent-encoded control/],
    ['encoded NUL', '/x%00.json', /percent-encoded control/],
    ['query smuggled in path', '/x?admin=true', /"\?" or "#"/],
    ['fragment in path', '/x#y', /"\?" or "#"/],
    ['malformed encoding', '/x%zz%', /malformed/],
  ])('%s: %j', (_label, path, message) => {
    expect(refusal(() => buildTargetUrl(BASE, { path })).message).toMatch(message);
  });

  it.each([['/v1..2/items'], ['/.../x'], ['/a;b=1/c'], ['/%EF%BC%8E/x']])('an ordinary segment with dots or parameters is allowed: %j', (path) => {
    expect(buildTargetUrl(BASE, { path }).origin).toBe('https://api.example.com');
  });

  it.each([[42], [{}], [['a']], [true]])('a non-string path %j is refused', (path) => {
    expect(refusal(() => buildTargetUrl(BASE, { path })).message).toMatch(/path must be a string/);
  });

  it('any string path either is refused or stays on the base origin under the prefix', () => {
    const chars = fc.constantFrom('/', '.', '%', '2', 'e', 'E', 'f', '5', 'c', '\\', '@', ':', '?', '#', 'a', '\r', '\n', ' ', '[', ']', 'ä', ';', '\uff0e');
    fc.assert(
      fc.property(fc.array(chars, { maxLength: 24 }).map((a) => a.join('')), (path) => {
        let url: URL;
        try {
          url = buildTargetUrl(BASE, { path });
        } catch (error) {
          return error instanceof EgressDeniedError;
        }
        return url.origin === 'https://api.example.com' && url.pathname.startsWith('/v1') && url.username === '';
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('query and base tricks', () => {
  it('query values are encoded, so CRLF or "&" cannot add parameters or headers', () => {
    const url = buildTargetUrl(BASE, { path: '/search', query: { q: 'a&admin=true\r\nX: y', n: 1 } });
    expect(url.search).toBe('?q=a%26admin%3Dtrue%0D%0AX%3A+y&n=1');
    expect([...url.searchParams.keys()]).toEqual(['q', 'n']);
  });

  it.each([
    [{ q: { nested: 1 } }],
    [{ q: [{}] }],
    [{ q: Number.NaN }],
    [{ q: Infinity }],
    [['a', 'b']],
    ['q=1'],
  ])('query %j is refused', (query) => {
    refusal(() => buildTargetUrl(BASE, { path: '/x', query }));
  });

  it.each([
    ['file:///etc/passwd', /http or https/],
    ['gopher://api.example.com/', /http or https/],
    ['https://user:secret@api.example.com/', /credentials/],
    ['https://api.example.com/?token=x', /query or fragment/],
    ['not a url', /not a valid absolute URL/],
  ])('base_url %s is refused', (base, message) => {
    expect(refusal(() => buildTargetUrl(base, { path: '/x' })).message).toMatch(message);
  });
});

describe('header injection', () => {
  it.each([
    ['CRLF in value', { 'x-a': 'v\r\nInjected: 1' }, /CR, LF/],
    ['LF in value', { 'x-a': 'v\n' }, /CR, LF/],
    ['NUL in value', { 'x-a': 'v\u0000' }, /CR, LF/],
    ['line separator in value', { 'x-a': 'v\u2028' }, /non-Latin-1/],
    ['space in name', { 'bad name': 'x' }, /not a valid token/],
    ['CRLF in name', { 'x-a\r\nInjected': 'x' }, /not a valid token/],
    ['pseudo-header', { ':authority': 'evil.example' }, /not a valid token/],
    ['host', { Host: 'evil.example' }, /"host" cannot be set/],
    ['transfer-encoding', { 'Transfer-Encoding': 'chunked' }, /"transfer-encoding" cannot be set/],
    ['content-length', { 'content-length': '0' }, /"content-length" cannot be set/],
    ['connection', { connection: 'keep-alive, x-drop-me' }, /"connection" cannot be set/],
    ['upgrade', { upgrade: 'websocket' }, /"upgrade" cannot be set/],
    ['accept-encoding', { 'accept-encoding': 'gzip' }, /"accept-encoding" cannot be set/],
    ['duplicate by case', { 'X-A': '1', 'x-a': '2' }, /set twice/],
    ['object value', { 'x-a': { toString: (): string => 'x' } }, /must be a string/],
  ])('%s is refused', (_label, headers, message) => {
    expect(refusal(() => assertSafeHeaders(headers)).message).toMatch(message);
  });
});
