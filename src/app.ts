import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import sjson from 'secure-json-parse';
import type { AppDeps } from './http/app-deps.js';
import { registerErrorHandling } from './http/error-handler.js';
import { registerOpenApi } from './http/openapi.js';
import { executionRoutes } from './http/routes/executions.js';
import { flowOperations } from './http/routes/flow-operations.js';
import { flowRoutes } from './http/routes/flows.js';
import { healthRoutes } from './http/routes/health.js';
import { UNMATCHED_ROUTE } from './observability/metrics.js';

export type { AppDeps, AppState } from './http/app-deps.js';

/** An incoming x-request-id is kept only if it is short and plain. */
const REQUEST_ID = /^[A-Za-z0-9._:@-]{1,128}$/;

/** Builds the API app (never listens: the server or a test does). */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: config.BODY_LIMIT_BYTES,
    requestTimeout: config.REQUEST_TIMEOUT_MS,
    connectionTimeout: config.REQUEST_TIMEOUT_MS,
    keepAliveTimeout: 72_000,
    maxRequestsPerSocket: 0,
    return503OnClosing: true,
    requestIdHeader: false,
    genReqId: (request) => {
      const incoming = request.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
    routerOptions: { maxParamLength: 200, ignoreTrailingSlash: false, ignoreDuplicateSlashes: false },
    http: { maxHeaderSize: 16 * 1024 },
  });

  // Only JSON is accepted: anything else (text/plain included) is a 415, never parsed unvalidated.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    parseJsonBody(body as string, config.MAX_JSON_DEPTH, done);
  });
  app.addHook('onSend', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
    const labels = { method: request.method, route, status_code: String(reply.statusCode) };
    deps.metrics.httpRequestsTotal.inc(labels);
    deps.metrics.httpRequestDuration.observe(labels, reply.elapsedTime / 1000);
  });

  registerErrorHandling(app);
  await registerOpenApi(app, deps.flows);

  await app.register(async (zodApp) => {
    zodApp.setValidatorCompiler(validatorCompiler);
    zodApp.setSerializerCompiler(serializerCompiler);
    const typed = zodApp.withTypeProvider<ZodTypeProvider>();
    await typed.register(healthRoutes(deps));
    await typed.register(flowRoutes(deps));
    await typed.register(executionRoutes(deps));
  });
  await app.register(flowOperations(deps));
  return app;
}

type Done = (error: Error | null, value?: unknown) => void;

/**
 * JSON bodies: prototype-poisoning keys rejected, nesting depth bounded (a deeply nested body
 * costs recursion everywhere it is walked), empty bodies refused with a clear message.
 */
function parseJsonBody(text: string, maxDepth: number, done: Done): void {
  if (text.trim() === '') return done(badRequest('the request body is empty; send {"input": {...}}'));
  let value: unknown;
  try {
    value = sjson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (error) {
    return done(badRequest(`malformed JSON body: ${(error as Error).message}`));
  }
  if (depthExceeds(value, maxDepth)) return done(badRequest(`the JSON body is nested deeper than ${maxDepth} levels`));
  done(null, value);
}

function depthExceeds(value: unknown, maxDepth: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (typeof item !== 'object' || item === null) continue;
    if (depth > maxDepth) return true;
    for (const child of Array.isArray(item) ? item : Object.values(item)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}

function badRequest(message: string): Error {
  return Object.assign(new Error(message), { statusCode: 400, code: 'FST_ERR_CTP_INVALID_JSON_BODY' });
}
