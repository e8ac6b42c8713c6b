import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { createService, type Service } from '../../src/service.js';
import { makeFlowDir } from '../helpers/flow-dir.js';

/** A flow that fails with a long message without spaces (as URLs and ids are), for layout checks. */
const LONG_FAILURE_FLOW = `name: long-failure
phases:
  - id: lookup
    component: transform
    request: "{% $error('no-such-customer/' & $join($map([1..40], function($i) { 'segment' & $i }), '/')) %}"
`;

/**
 * The console and Swagger UI in a real browser: Debian's chromium driven by playwright-core
 * against the service listening on 127.0.0.1. Browsers are never downloaded: without chromium
 * this suite fails and says how to install it.
 */
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

describe('web console in a real browser', () => {
  let service: Service;
  let browser: Browser;
  let baseUrl: string;
  const offOrigin: string[] = [];
  const cspViolations: string[] = [];
  const pageErrors: string[] = [];
  const failedRequests: string[] = [];
  let flowDir: ReturnType<typeof makeFlowDir>;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`chromium is not installed at ${CHROMIUM}: run \`apt-get update && apt-get install -y chromium\` (or set CHROMIUM_PATH); the browser tests never download a browser`);
    }
    const examples = Object.fromEntries(readdirSync('flows').map((file) => [file, readFileSync(`flows/${file}`, 'utf8')]));
    flowDir = makeFlowDir({ ...examples, 'long-failure.yaml': LONG_FAILURE_FLOW });
    service = await createService(loadConfig({ FLOWS_DIR: flowDir.dir, LOG_LEVEL: 'silent', STORE: 'memory', PERSISTENCE: 'failed' }));
    await service.app.listen({ host: '127.0.0.1', port: 0 });
    service.state.ready = true;
    baseUrl = `http://127.0.0.1:${(service.app.server.address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await service?.close();
    flowDir?.cleanup();
  });

  async function open(path: string): Promise<Page> {
    const page = await browser.newPage();
    page.on('request', (request) => {
      if (!request.url().startsWith(baseUrl) && !request.url().startsWith('data:')) offOrigin.push(request.url());
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('response', (response) => {
      if (response.status() >= 400) failedRequests.push(`${response.status()} ${response.url()}`);
    });
    page.on('console', (message) => {
      if (message.type() === 'error' && /Content.Security.Policy/i.test(message.text())) cspViolations.push(message.text());
    });
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (event) => {
        (window as unknown as { __csp: string[] }).__csp ??= [];
        (window as unknown as { __csp: string[] }).__csp.push(`${event.violatedDirective} ${event.blockedURI}`);
      });
    });
    await page.goto(`${baseUrl}${path}`);
    return page;
  }

  async function violations(page: Page): Promise<string[]> {
    return page.evaluate(() => (window as unknown as { __csp?: string[] }).__csp ?? []);
  }

  it('serves console pages under a strict Content-Security-Policy', async () => {
    const response = await fetch(`${baseUrl}/console`);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(response.status).toBe(200);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe/);
    const mermaid = await fetch(`${baseUrl}/console/assets/mermaid.min.js`);
    expect(mermaid.status).toBe(200);
    expect(mermaid.headers.get('content-type')).toContain('javascript');
  });

  it('lists every example flow and draws a flow, with its document, as SVG', async () => {
    const page = await open('/console');
    await page.waitForSelector('.flow-card');
    const names = await page.$$eval('.flow-card', (cards) => cards.map((card) => card.getAttribute('data-flow')));
    expect(names.sort()).toEqual([...service.built.flows.keys()].sort());

    await page.click('a[href="#/flows/order-fulfillment"]');
    await page.waitForSelector('#flow-diagram svg', { timeout: 30_000 });
    const labels = await page.$eval('#flow-diagram svg', (svg) => svg.textContent ?? '');
    expect(labels).toContain('reserve_line');
    expect(labels).toContain('charge_priority');

    // The generated document: every section of the seed template, every Mermaid block drawn.
    await page.waitForSelector('#flow-doc h1');
    const headings = await page.$$eval('#flow-doc h2', (nodes) => nodes.map((node) => node.textContent));
    expect(headings).toEqual([
      '1. Overview',
      '2. Components Involved',
      '3. Flow Diagram',
      '4. Detailed Steps',
      '5. Error Handling',
      '6. Performance Considerations',
      '7. Examples',
      '8. Integration with Other Flows',
      '9. Testing',
    ]);
    await page.waitForFunction(() => [...document.querySelectorAll('.doc-diagram')].every((d) => d.hasAttribute('data-rendered')), undefined, { timeout: 30_000 });
    const states = await page.$$eval('.doc-diagram', (nodes) => nodes.map((node) => node.getAttribute('data-rendered')));
    expect(states.length).toBeGreaterThan(5);
    expect(states.every((state) => state === 'true')).toBe(true);

    // Every Mermaid block of every flow's document is valid Mermaid (checked by Mermaid itself).
    const invalid = await page.evaluate(async (flows) => {
      const mermaid = (window as unknown as { mermaid: { parse(text: string): Promise<unknown> } }).mermaid;
      const problems: string[] = [];
      for (const flow of flows) {
        const doc = await (await fetch(`/flows/${flow}/doc`)).text();
        const blocks = [...doc.matchAll(/```mermaid\n([\s\S]*?)```/g)].map((match) => match[1]!);
        if (blocks.length < 2) problems.push(`${flow}: only ${blocks.length} diagrams`);
        for (const block of blocks) {
          try {
            await mermaid.parse(block);
          } catch (error) {
            problems.push(`${flow}: ${(error as Error).message.split('\n')[0]}\n${block}`);
          }
        }
      }
      return problems;
    }, [...service.built.flows.keys()]);
    expect(invalid).toEqual([]);
    expect(await violations(page)).toEqual([]);
    await page.close();
  }, 90_000);

  it('executes an example and shows the execution page with each phase coloured by outcome', async () => {
    const page = await open('/console#/flows/order-fulfillment');
    await page.waitForSelector('#execute-example');
    await page.selectOption('#execute-example', 'gold-customer');
    expect(JSON.parse(await page.inputValue('#execute-input'))).toEqual(service.built.flows.get('order-fulfillment')!.examples['gold-customer']);
    await page.click('#execute-button');

    await page.waitForURL(/#\/executions\/[0-9a-f-]{36}$/, { timeout: 30_000 });
    await page.waitForSelector('#execution-summary [data-status]');
    expect(await page.getAttribute('#execution-summary [data-status]', 'data-status')).toBe('succeeded');

    await page.waitForSelector('#execution-diagram svg', { timeout: 30_000 });
    const classesOf = (phase: string): Promise<string> =>
      page.$eval(`#execution-diagram svg g.node[id*="-p_${phase}-"]`, (node) => node.getAttribute('class') ?? '');
    expect(await classesOf('customer')).toContain('ok');
    expect(await classesOf('charge_priority')).toContain('ok');
    expect(await classesOf('charge')).toContain('notrun'); // the gold lane was taken
    expect(await classesOf('ship')).toContain('ok');

    const timeline = await page.$$eval('#execution-timeline tbody tr', (rows) => rows.map((row) => [row.getAttribute('data-phase'), row.getAttribute('data-status')]));
    expect(timeline).toContainEqual(['ship', 'succeeded']);
    expect(timeline.filter(([id]) => id === 'reserve_line')).toHaveLength(1);
    await page.waitForSelector('#execution-logs table.logs');
    expect(await page.$$eval('#execution-logs tbody tr', (rows) => rows.length)).toBeGreaterThan(0);

    // Back on the home page the execution is listed with its status.
    await page.click('a[href="#/"]');
    await page.waitForSelector('#recent-executions tr[data-execution]');
    expect(await page.$$eval('#recent-executions [data-status="succeeded"]', (nodes) => nodes.length)).toBeGreaterThan(0);
    expect(await violations(page)).toEqual([]);
    await page.close();
  }, 90_000);

  it('executes a flow from Swagger UI with "Try it out"', async () => {
    const page = await open('/docs');
    const operation = page.locator('.opblock', { has: page.locator('.opblock-summary-path', { hasText: /^\/flows\/loyalty-points\/execute$/ }) });
    await operation.first().locator('.opblock-summary').click();
    const tryItOut = operation.first().locator('button.try-out__btn');
    if ((await tryItOut.textContent())?.includes('Try it out') === true) await tryItOut.click();
    await operation.first().locator('button.execute').click();
    const status = operation.first().locator('.live-responses-table .response .response-col_status').first();
    await status.waitFor({ timeout: 45_000 });
    expect((await status.textContent())?.trim()).toBe('200');
    const body = await operation.first().locator('.live-responses-table .response-col_description pre').first().textContent();
    expect(JSON.parse(body ?? '{}')).toMatchObject({ flow: 'loyalty-points', status: 'succeeded', output: { customer_id: 'c-42', points: 30 } });
    await page.close();
  }, 90_000);

  it("keeps a failed execution's long messages and log fields inside a 1 400 px window", async () => {
    const failed = await fetch(`${baseUrl}/flows/long-failure/execute`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"input": {}}' });
    const { execution } = (await failed.json()) as { execution: { executionId: string } };
    const page = await open(`/console#/executions/${execution.executionId}`);
    await page.setViewportSize({ width: 1400, height: 900 });
    await page.waitForSelector('#execution-logs table.logs');
    await page.waitForSelector('#execution-timeline');
    expect(await page.$eval('#execution-summary', (node) => node.textContent)).toContain('segment40');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1400);
    await page.close();
  }, 60_000);

  it('shows a rejected reload\'s problems, lists the loaded versions of a flow and executes the version picked', async () => {
    const v1 = readFileSync('flows/loyalty-points.yaml', 'utf8');
    writeFileSync(path.join(flowDir.dir, 'loyalty-points-v0.yaml'), v1.replace(/^version: .*$/m, 'version: 0'));
    writeFileSync(path.join(flowDir.dir, 'broken.yaml'), 'name: broken\nphases:\n  - { id: x, component: nowhere }\n');
    expect((await service.built.reloader.reload('api')).outcome).toBe('rejected');
    const home = await open('/console');
    await home.waitForSelector('#reload-problems li');
    expect(await home.$eval('#reload-problems', (node) => node.textContent)).toContain('broken.yaml: phases[0].component: unknown component "nowhere"');
    await home.close();

    rmSync(path.join(flowDir.dir, 'broken.yaml'));
    expect((await service.built.reloader.reload('api')).outcome).toBe('applied');
    const page = await open('/console#/flows/loyalty-points');
    await page.waitForSelector('#flow-versions');
    expect(await page.$eval('#flow-versions', (node) => node.textContent)).toMatch(/^Loaded versions: 0 from .*loyalty-points-v0\.yaml; 1 \(current\) from /);
    await page.selectOption('#execute-version', '0');
    await page.click('#execute-button');
    await page.waitForURL(/#\/executions\/[0-9a-f-]{36}$/, { timeout: 30_000 });
    const executionId = /[0-9a-f-]{36}$/.exec(page.url())![0];
    expect(await (await fetch(`${baseUrl}/executions/${executionId}`)).json()).toMatchObject({ flow: 'loyalty-points', version: '0', status: 'succeeded' });
    expect(await violations(page)).toEqual([]);
    await page.close();
  }, 60_000);

  it('serves the console icon at /favicon.ico, where browsers ask for it', async () => {
    const response = await fetch(`${baseUrl}/favicon.ico`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/svg+xml');
    expect(await response.text()).toContain('<svg');
  });

  it('loaded every script and style from the service itself, and ran without errors', () => {
    expect(failedRequests).toEqual([]);
    expect(offOrigin).toEqual([]);
    expect(cspViolations).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
