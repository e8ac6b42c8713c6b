import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserServer } from 'playwright-core';

/**
 * Debian's chromium for the browser tests, driven by playwright-core. Browsers are never
 * downloaded: without chromium the suite fails and says how to install it.
 */
export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface TestBrowser {
  readonly browser: Browser;
  /** Closes pages and contexts, then the browser, each step bounded; kills the browser process if a step hangs. */
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`chromium is not installed at ${CHROMIUM}: run \`apt-get update && apt-get install -y chromium\` (or set CHROMIUM_PATH); the browser tests never download a browser`);
  }
  // A server (not chromium.launch) so that teardown holds the process and can kill it.
  const server = await chromium.launchServer({ executablePath: CHROMIUM, args: ARGS });
  const browser = await chromium.connect(server.wsEndpoint());
  return { browser, close: () => closeAll(browser, server) };
}

/**
 * Browser teardown that cannot hang the suite: closing a browser with pages still open
 * sometimes never settled (the known "hangs on close"). Pages first, then contexts, then the
 * connection and the server, each given a bounded wait; if any step did not settle, the
 * browser process is killed.
 */
async function closeAll(browser: Browser, server: BrowserServer): Promise<void> {
  let settled = true;
  for (const context of browser.contexts()) {
    for (const page of context.pages()) settled = (await within(page.close(), 5_000)) && settled;
    settled = (await within(context.close(), 5_000)) && settled;
  }
  settled = (await within(browser.close(), 5_000)) && settled;
  settled = (await within(server.close(), 10_000)) && settled;
  if (!settled) await within(server.kill(), 5_000);
}

/** Whether the promise settled (either way) within `ms`; a teardown bound, not an assertion. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
