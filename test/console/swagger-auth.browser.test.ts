import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { apiKeysEnv, makeKey, startService, type TestService } from '../security/helpers.js';

/**
 * Swagger UI with authentication on, in a real browser (Debian's chromium, as in
 * console.browser.test.ts): the page is public, the document it shows needs flows:read, and the
 * page sends the user's key when it fetches it.
 */
const reader = makeKey('reader', ['flows:read', 'flows:execute']);
const FLOW = { name: 'hello', description: 'says hello', phases: [{ id: 'greet', component: 'transform', request: "{% 'hello ' & input.name %}" }] };

describe('Swagger UI with API keys', () => {
  let t: TestService;
  let testBrowser: TestBrowser;
  let browser: Browser;
  let baseUrl: string;

  beforeAll(async () => {
    t = await startService([FLOW], { API_KEYS: apiKeysEnv(reader), RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'warn' });
    await t.service.app.listen({ host: '127.0.0.1', port: 0 });
    baseUrl = `http://127.0.0.1:${(t.service.app.server.address() as AddressInfo).port}`;
    testBrowser = await launchBrowser();
    browser = testBrowser.browser;
  }, 60_000);

  afterAll(async () => {
    await testBrowser?.close();
    await t?.close();
  }, 60_000);

  /** The document's Authorization header each time the page fetched it. */
  function documentFetches(page: Page): (string | undefined)[] {
    const seen: (string | undefined)[] = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/docs/json') seen.push(request.headers()['authorization']);
    });
    return seen;
  }

  const operationPaths = (page: Page) => page.locator('.opblock-summary-path').allTextContents();

  it('with the key the console stored, shows the document, fetched with that key', async () => {
    const page = await browser.newPage();
    const fetches = documentFetches(page);
    await page.addInitScript((key) => window.sessionStorage.setItem('flowd.apiKey', key), reader.key);
    await page.goto(`${baseUrl}/docs`);
    await page.locator('.opblock-summary-path', { hasText: '/flows/hello/execute' }).first().waitFor({ timeout: 30_000 });
    expect(await operationPaths(page)).toContain('/flows/hello/execute');
    expect(fetches).toEqual([`Bearer ${reader.key}`]);
    await page.close();
  }, 60_000);

  it('without a key, asks for one once (the document answered 401), then shows the document', async () => {
    const page = await browser.newPage();
    const fetches = documentFetches(page);
    const prompts: string[] = [];
    page.on('dialog', (dialog) => {
      prompts.push(dialog.message());
      void dialog.accept(reader.key);
    });
    await page.goto(`${baseUrl}/docs`);
    await page.locator('.opblock-summary-path', { hasText: '/flows/hello/execute' }).first().waitFor({ timeout: 30_000 });
    expect(prompts).toHaveLength(1);
    expect(prompts[0]).toMatch(/flows:read/);
    expect(fetches).toEqual([undefined, `Bearer ${reader.key}`]);
    await page.close();
  }, 60_000);
});
