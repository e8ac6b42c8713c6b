import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { CONSOLE_ICON, CONSOLE_PAGE, CONSOLE_STYLE } from './console-page.js';
import { CONSOLE_SCRIPT } from './console-script.js';

/**
 * Content-Security-Policy of every console response: scripts and styles only from this origin
 * (style attributes and Mermaid's inline <style> need 'unsafe-inline' for styles, never for
 * scripts), data only from this origin's API, no framing, no plugins, no base or form targets.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The console's HTML, script and styles need no key (they hold no data); the API calls they make do. */
const PUBLIC = { auth: { kind: 'public' } } as const;

const MERMAID_FILE = createRequire(import.meta.url).resolve('mermaid/dist/mermaid.min.js');

function secure(reply: FastifyReply, type: string): FastifyReply {
  return reply
    .type(type)
    .header('content-security-policy', CONSOLE_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cross-origin-opener-policy', 'same-origin');
}

/**
 * The web console at `/console`: flows with their diagrams and documents, an execute form with
 * the flows' examples, recent executions, and an execution page colouring each phase by outcome.
 * Every asset is served from this process (Mermaid from the installed npm package): no CDN.
 */
export function consoleRoutes(): FastifyPluginAsync {
  return async (app) => {
    const hidden = { hide: true } as const;
    app.get('/console', { config: PUBLIC, schema: hidden }, async (_request, reply) =>
      secure(reply, 'text/html; charset=utf-8').header('cache-control', 'no-cache').send(CONSOLE_PAGE),
    );
    app.get('/console/assets/console.js', { config: PUBLIC, schema: hidden }, async (_request, reply) =>
      secure(reply, 'text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(CONSOLE_SCRIPT),
    );
    app.get('/console/assets/console.css', { config: PUBLIC, schema: hidden }, async (_request, reply) =>
      secure(reply, 'text/css; charset=utf-8').header('cache-control', 'no-cache').send(CONSOLE_STYLE),
    );
    app.get('/favicon.ico', { config: PUBLIC, schema: hidden }, async (_request, reply) =>
      secure(reply, 'image/svg+xml').header('cache-control', 'public, max-age=86400').send(CONSOLE_ICON),
    );
    app.get('/console/assets/mermaid.min.js', { config: PUBLIC, schema: hidden }, async (_request, reply) => {
      const info = await stat(MERMAID_FILE);
      return secure(reply, 'text/javascript; charset=utf-8')
        .header('cache-control', 'public, max-age=86400')
        .header('content-length', info.size)
        .send(createReadStream(MERMAID_FILE));
    });
  };
}
