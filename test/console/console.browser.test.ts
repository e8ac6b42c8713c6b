import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { createService, type Service } from '../../src/service.js';
import { launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { failTimes, ok, startFaultUpstream, type FaultUpstream } from '../helpers/fault-upstream.js';
import { makeFlowDir } from '../helpers/flow-dir.js';

/** A flow that fails with a long message without spaces (as URLs and ids are), for layout checks. */
const LONG_FAILURE_FLOW = `name: long-failure
phases:
  - id: lookup
    component: transform
    request: "{% $error('no-such-customer/' & $join($map([1..40], function($i) { 'segment' & $i }), '/')) %}"
`;

const TOKEN = 'tok-console-detail-7731';

/** A transactional flow calling a real upstream with a secret header: reserve (undone on failure), then charge. */
function shopFlows(upstream: string): Record<string, string> {
  const shop = { adapter: 'http', base_url: upstream, headers: { 'x-shop-token': '${secret:SHOP_TOKEN}' } };
  const order = {
    name: 'shop-order',
    transactional: true,
    components: { shop },
    defaults: { retry_policy: { initial_delay_ms: 1, max_delay_ms: 1 } },
    phases: [
      {
        id: 'reserve',
        component: 'shop',
        request: { method: 'POST', path: '/reservations', body: { sku: '{% input.sku %}' } },
        output: '{% result.body %}',
        compensate: { request: { method: 'DELETE', path: "{% '/reservations/' & output.id %}" } },
      },
      { id: 'charge', component: 'shop', request: { method: 'POST', path: '/charges' } },
    ],
  };
  const quiet = { name: 'quiet-shop', capture: 'errors', components: { shop }, phases: [{ id: 'look', component: 'shop', request: { method: 'GET', path: '/quiet' } }] };
  const big = { name: 'big-shop', components: { shop }, phases: [{ id: 'catalogue', component: 'shop', request: { method: 'GET', path: '/catalogue' } }] };
  return { 'shop-order.json': JSON.stringify(order), 'quiet-shop.json': JSON.stringify(quiet), 'big-shop.json': JSON.stringify(big) };
}

/**
 * The console and Swagger UI in a real browser: Debian's chromium driven by playwright-core
 * (test/helpers/browser.ts) against the service listening on 127.0.0.1.
 */

describe('web console in a real browser', () => {
  let service: Service;
  let testBrowser: TestBrowser;
  let upstream: FaultUpstream;
  let baseUrl: string;
  const offOrigin: string[] = [];
  const cspViolations: string[] = [];
  const pageErrors: string[] = [];
  const failedRequests: string[] = [];
  let flowDir: ReturnType<typeof makeFlowDir>;

  beforeAll(async () => {
    testBrowser = await launchBrowser();
    upstream = await startFaultUpstream();
    const examples = Object.fromEntries(readdirSync('flows').map((file) => [file, readFileSync(`flows/${file}`, 'utf8')]));
    flowDir = makeFlowDir({ ...examples, 'long-failure.yaml': LONG_FAILURE_FLOW, ...shopFlows(upstream.url) });
    const env = { FLOWS_DIR: flowDir.dir, LOG_LEVEL: 'silent', STORE: 'memory', PERSISTENCE: 'failed', EGRESS_ALLOW: '127.0.0.1', SHOP_TOKEN: TOKEN };
    service = await createService(loadConfig(env), { env });
    await service.app.listen({ host: '127.0.0.1', port: 0 });
    service.state.ready = true;
    baseUrl = `http://127.0.0.1:${(service.app.server.address() as AddressInfo).port}`;
  }, 60_000);

  afterAll(async () => {
    await testBrowser?.close();
    await service?.close();
    await upstream?.close();
    flowDir?.cleanup();
  }, 60_000);

  async function open(path: string): Promise<Page> {
    const page = await testBrowser.browser.newPage();
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

  /** Opens the row's detail (its ▸ button) and answers the detail's text. */
  async function expand(page: Page, row: string): Promise<string> {
    await page.click(`${row} button.toggle`);
    const detail = page.locator(`${row} + tr.detail`);
    await detail.waitFor({ state: 'visible' });
    return (await detail.textContent()) ?? '';
  }

  it("opens each phase to its attempts' requests and responses, secrets masked, and a compensation to its calls", async () => {
    upstream.script('POST /reservations', ok({ id: 'r-9' }, 201));
    upstream.script('POST /charges', failTimes(1, { status: 503, body: { reason: 'busy' } }), { status: 402, body: { reason: 'card declined' } });
    upstream.script('DELETE /reservations/r-9', ok({ released: true }));
    const answer = await fetch(`${baseUrl}/flows/shop-order/execute`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"input": {"sku": "A-1"}}' });
    const { execution } = (await answer.json()) as { execution: { executionId: string; status: string } };
    expect(execution.status).toBe('compensated');

    const page = await open(`/console#/executions/${execution.executionId}`);
    await page.waitForSelector('#execution-timeline');
    expect(await page.isVisible('#execution-timeline tr[data-phase="reserve"] + tr.detail')).toBe(false);
    const reserve = await expand(page, '#execution-timeline tr[data-phase="reserve"]');
    expect(reserve).toContain(`Request POST ${upstream.url}/reservations`);
    expect(reserve).toContain('Response status 201');
    expect(reserve).toContain('"x-shop-token": "[REDACTED]"');
    expect(reserve).toContain('"sku": "A-1"');
    expect(reserve).toMatch(/Output \(mapped\)\{\s+"id": "r-9"\s+\}/);
    expect(upstream.calls('POST /reservations')[0]?.headers['x-shop-token']).toBe(TOKEN); // the upstream got the real value

    const charge = await expand(page, '#execution-timeline tr[data-phase="charge"]');
    expect(await page.$$eval('#execution-timeline tr[data-phase="charge"] + tr.detail .call', (calls) => calls.map((call) => call.getAttribute('data-attempt')))).toEqual(['1', '2']);
    expect(charge).toContain('Error FLOWD_ERR_COMPONENT_FAILED (HTTP 503)');
    expect(charge).toMatch(/Retried after [\d.]+ ms/); // the retry policy's delay (with jitter) before attempt 2
    expect(charge).toContain('"reason": "card declined"');

    const undo = await expand(page, '#execution-compensations tr[data-compensation="reserve"]');
    expect(undo).toContain(`Request DELETE ${upstream.url}/reservations/r-9`);
    expect(undo).toContain('Response status 200');
    expect(undo).toContain('"released": true');
    expect(await page.content()).not.toContain(TOKEN);

    // The diagram draws the compensation on a dashed edge, coloured: it ran.
    await page.waitForSelector('#execution-diagram svg', { timeout: 30_000 });
    expect(await page.$eval('#execution-diagram svg g.node[id*="-undo_reserve-"]', (node) => node.getAttribute('class') ?? '')).toContain('compensated');
    expect(await page.$eval('#execution-diagram svg g.node[id*="-p_charge-"]', (node) => node.getAttribute('class') ?? '')).toContain('failed');
    expect(await page.$eval('#execution-diagram svg', (svg) => svg.textContent ?? '')).toContain('undo reserve');
    expect(await page.isVisible('#retry-button')).toBe(true);
    expect(await violations(page)).toEqual([]);
    await page.close();
  }, 60_000);

  it('marks executions kept in memory only, explains why no retry is offered and why calls were not captured', async () => {
    upstream.script('GET /quiet', ok({ quiet: true }));
    const answer = await fetch(`${baseUrl}/flows/quiet-shop/execute`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"input": {}}' });
    const record = (await answer.json()) as { executionId: string; status: string };
    expect(record.status).toBe('succeeded');

    const page = await open('/console');
    await page.waitForSelector(`#recent-executions tr[data-execution="${record.executionId}"]`);
    // PERSISTENCE=failed: the succeeded execution is in memory only, the failed ones are stored.
    const badges = Object.fromEntries(
      await page.$$eval('#recent-executions tr[data-execution]', (rows) => rows.map((row) => [row.getAttribute('data-execution'), row.querySelector('.memory-only')?.textContent ?? null] as const)),
    );
    const listed = ((await (await fetch(`${baseUrl}/executions?limit=25`)).json()) as { items: { executionId: string; stored: boolean }[] }).items;
    expect(listed.some((item) => item.stored) && listed.some((item) => !item.stored)).toBe(true);
    expect(badges).toEqual(Object.fromEntries(listed.map((item) => [item.executionId, item.stored ? null : 'memory only'])));

    await page.click(`a[href="#/executions/${record.executionId}"]`);
    await page.waitForSelector('#execution-timeline');
    expect(await page.isVisible('#retry-button')).toBe(false);
    expect(await page.textContent('#retry-reason')).toBe('Not offered: it succeeded, there is nothing to retry.');
    const look = await expand(page, '#execution-timeline tr[data-phase="look"]');
    expect(look).toContain("not captured: capture policy errors (the flow's capture:) keeps only failed attempts.");
    expect(look).toContain('"quiet": true'); // the output is kept whatever the capture policy
    await page.close();
  }, 60_000);

  it('says so when an execution ran out of capture budget', async () => {
    upstream.script('GET /catalogue', ok({ items: 'x'.repeat(70 * 1024) })); // past CAPTURE_MAX_BYTES (64 KiB)
    const answer = await fetch(`${baseUrl}/flows/big-shop/execute`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"input": {}}' });
    const { executionId } = (await answer.json()) as { executionId: string };
    const page = await open(`/console#/executions/${executionId}`);
    await page.waitForSelector('#captures-truncated');
    expect(await page.textContent('#captures-truncated')).toContain('CAPTURE_MAX_BYTES');
    const catalogue = await expand(page, '#execution-timeline tr[data-phase="catalogue"]');
    expect(catalogue).toContain(`Request GET ${upstream.url}/catalogue`);
    expect(catalogue).toContain('Response not kept: the capture budget ran out (CAPTURE_MAX_BYTES).');
    await page.close();
  }, 60_000);

  it('shows a waiting execution with what it waits for, and sends its signal from a form', async () => {
    const started = await fetch(`${baseUrl}/flows/expense-approval/execute`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input: { employee: 'e-5', amount: 12 } }),
    });
    expect(started.status).toBe(202);
    const { executionId } = (await started.json()) as { executionId: string };
    const page = await open(`/console#/executions/${executionId}`);
    await page.waitForSelector('#waiting-for');
    expect(await page.textContent('#execution-summary .status-waiting')).toBe('waiting');
    expect(await page.textContent('#waiting-for')).toContain('for signal "decision"');
    expect(await page.textContent('#execution-timeline tr[data-phase="decision"]')).toContain('waiting');
    await page.fill('#signal-payload', '{"approved": true, "approver": "m-9"}');
    await page.click('#signal-send');
    await page.waitForSelector('#execution-summary .status-succeeded', { timeout: 20_000 });
    expect(await page.textContent('#execution-summary')).toContain('"by": "m-9"');
    await page.close();
  });

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
