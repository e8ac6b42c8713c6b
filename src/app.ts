import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import sjson from 'secure-json-parse';
import type { AppDeps } from './http/app-deps.js';
import { registerErrorHandling } from './http/error-handler.js';
import { problemClientErrorHandler } from './http/client-error.js';
import { boundConnections } from './http/connection-deadlines.js';
import { jsonShapeViolation, type JsonShapeLimits } from './http/json-body-limits.js';
import { registerNegotiation } from './http/negotiation.js';
import { registerOpenApi } from './http/openapi.js';
import { consoleRoutes } from './console/console-routes.js';
import { executionRetryRoutes } from './http/routes/execution-retry.js';
import { executionRoutes } from './http/routes/executions.js';
import { signalRoutes } from './http/routes/signals.js';
import { flowDocRoutes } from './http/routes/flow-docs.js';
import { catalogRoutes } from './http/routes/catalog.js';
import { flowRoutes } from './http/routes/flows.js';
import { healthRoutes } from './http/routes/health.js';
import { createRouterErrorHandler, type OnRequestHook } from './http/router-errors.js';
import { registerSecurity } from './http/security.js';
import { UNMATCHED_ROUTE } from './observability/metrics.js';
import { parseTraceparent } from './observability/trace-context.js';

export type { AppDeps, AppState } from './http/app-deps.js';

/** An incoming x-request-id is kept only if it is short and plain. */
const REQUEST_ID = /^[A-Za-z0-9._:@-]{1,128}$/;

/** Builds the API app (never listens: the server or a test does). */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config } = deps;
  // Typed as Fastify's base logger so the instance keeps Fastify's default generics.
  const loggerInstance: FastifyBaseLogger = deps.logger;
  const app = Fastify({
    loggerInstance,
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
    // Request log lines carry the W3C trace id when the caller sent a valid traceparent.
    childLoggerFactory: (logger, bindings, options, rawRequest) => {
      const trace = parseTraceparent(rawRequest.headers['traceparent']);
      return logger.child(trace === undefined ? bindings : { ...bindings, traceId: trace.traceId }, options);
    },
    routerOptions: { maxParamLength: 200, ignoreTrailingSlash: false, ignoreDuplicateSlashes: false },
    http: {
      maxHeaderSize: config.MAX_HEADER_BYTES,
      // Node's own checks are the backstop of boundConnections (below); Node wants headers ≤ request.
      headersTimeout: Math.min(config.HEADERS_TIMEOUT_MS, config.REQUEST_TIMEOUT_MS),
      // Node checks request timeouts on this interval (default 30 s): keep it well under the timeout.
      connectionsCheckingInterval: Math.min(30_000, Math.max(250, Math.floor(config.REQUEST_TIMEOUT_MS / 4))),
    },
    // 408 / 431 / malformed HTTP from Node's parser answered as problem+json too.
    clientErrorHandler: problemClientErrorHandler,
    // 414 / malformed URL from the router: through the guards, then problem+json (router-errors.ts).
    frameworkErrors: createRouterErrorHandler(() => unmatched.admit),
  });
  // Filled in once the guards exist (registerSecurity needs the instance first).
  const unmatched: { admit?: OnRequestHook | undefined } = {};

  // Idle and slow connections: deadlines that fire on time, and a connection cap.
  boundConnections(app.server, {
    headersTimeoutMs: config.HEADERS_TIMEOUT_MS,
    requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
    maxConnections: config.MAX_CONNECTIONS,
  });

  // Only JSON is accepted: anything else (text/plain included) is a 415, never parsed unvalidated.
  app.removeAllContentTypeParsers();
  const shapeLimits: JsonShapeLimits = { maxDepth: config.MAX_JSON_DEPTH, maxWidth: config.MAX_JSON_WIDTH };
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    parseJsonBody(body as string, shapeLimits, done);
  });

  // Before any route: host check, shedding, authentication, rate limit, authorisation; then 405/406.
  const security = await registerSecurity(app, deps);
  const { protectBody } = security;
  unmatched.admit = security.admitUnmatched;
  const negotiation = registerNegotiation(app);

  // The hooks every request passes are callback-style: an async hook costs a promise and a
  // microtask per request, and these never wait for anything.
  app.addHook('onSend', (request, reply, payload, done) => {
    void reply.header('x-request-id', request.id);
    done(null, typeof payload === 'string' ? protectBody(reply, payload) : payload);
  });
  app.addHook('onResponse', (request, reply, done) => {
    deps.metrics.recordHttpRequest(request.method, request.routeOptions.url ?? UNMATCHED_ROUTE, reply.statusCode, reply.elapsedTime);
    done();
  });
  registerErrorHandling(app, negotiation);
  await registerOpenApi(app, deps.flows);

  await app.register(async (zodApp) => {
    zodApp.setValidatorCompiler(validatorCompiler);
    zodApp.setSerializerCompiler(serializerCompiler);
    const typed = zodApp.withTypeProvider<ZodTypeProvider>();
    await typed.register(healthRoutes(deps));
    await typed.register(flowRoutes(deps));
    await typed.register(catalogRoutes(deps));
    await typed.register(executionRoutes(deps));
    await typed.register(flowDocRoutes(deps));
    await typed.register(executionRetryRoutes(deps));
    await typed.register(signalRoutes(deps));
  });
  await app.register(consoleRoutes());
  return app;
}

type Done = (error: Error | null, value?: unknown) => void;

/**
 * JSON bodies: prototype-poisoning keys rejected, nesting depth and width bounded (a deeply
 * nested body costs recursion everywhere it is walked), empty bodies refused with a clear message.
 */
function parseJsonBody(text: string, limits: JsonShapeLimits, done: Done): void {
  if (text.trim() === '') return done(badRequest('the request body is empty; send {"input": {...}}'));
  let value: unknown;
  try {
    value = sjson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (error) {
    return done(badRequest(`malformed JSON body: ${(error as Error).message}`));
  }
  const violation = jsonShapeViolation(value, limits);
  if (violation !== undefined) return done(badRequest(violation));
  done(null, value);
}

function badRequest(message: string): Error {
  return Object.assign(new Error(message), { statusCode: 400, code: 'FST_ERR_CTP_INVALID_JSON_BODY' });
}
