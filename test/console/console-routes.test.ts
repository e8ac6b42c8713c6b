import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_SCRIPT } from '../../src/console/console-script.js';
import { hashApiKey } from '../../src/http/auth/api-keys.js';
import { startTestService, type TestService } from '../helpers/service.js';

const READER_KEY = 'flowd_reader-key-0123456789abcdef';

describe('console routes', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService({ LOG_LEVEL: 'silent', API_KEYS: `reader:${hashApiKey(READER_KEY)}:flows:read,executions:read` });
  });
  afterAll(() => service.close());

  it('serves the page and its assets without a key (they hold no data), each under the console CSP', async () => {
    for (const [url, type] of [
      ['/console', 'text/html'],
      ['/console/assets/console.js', 'text/javascript'],
      ['/console/assets/console.css', 'text/css'],
      ['/console/assets/mermaid.min.js', 'text/javascript'],
    ] as const) {
      const response = await service.app.inject({ method: 'GET', url });
      expect(response.statusCode, url).toBe(200);
      expect(response.headers['content-type']).toContain(type);
      expect(response.headers['content-security-policy']).toContain("script-src 'self'");
      expect(response.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  it('serves Mermaid byte for byte from the installed npm package', async () => {
    const file = createRequire(import.meta.url).resolve('mermaid/dist/mermaid.min.js');
    const response = await service.app.inject({ method: 'GET', url: '/console/assets/mermaid.min.js' });
    expect(response.rawPayload.equals(await readFile(file))).toBe(true);
  });

  it('references only assets of this origin from the page', async () => {
    const page = (await service.app.inject({ method: 'GET', url: '/console' })).body;
    const sources = [...page.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
    expect(sources.filter((source) => !source.startsWith('/') && !source.startsWith('#'))).toEqual([]);
  });

  it('keeps the data behind the API keys: documents need flows:read, retries need flows:execute', async () => {
    expect((await service.app.inject({ method: 'GET', url: '/flows/loyalty-points/doc' })).statusCode).toBe(401);
    const authorization = `Bearer ${READER_KEY}`;
    const doc = await service.app.inject({ method: 'GET', url: '/flows/loyalty-points/doc', headers: { authorization } });
    expect(doc.statusCode).toBe(200);
    const retry = await service.app.inject({ method: 'POST', url: '/executions/01234567-89ab-7def-8123-456789abcdef/retry', headers: { authorization } });
    expect(retry.statusCode).toBe(403);
  });

  it('puts API data into the page as text only: the one innerHTML is Mermaid’s sanitised SVG', () => {
    expect(CONSOLE_SCRIPT.match(/innerHTML/g)).toHaveLength(1);
    expect(CONSOLE_SCRIPT).toContain("securityLevel: 'strict'");
    expect(CONSOLE_SCRIPT).not.toMatch(/\beval\(|new Function|document\.write/);
  });
});
