import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { FlowdMetrics } from './metrics.js';

export interface MetricsAppOptions {
  /** Logger for errors only; scrapes are never logged. Silent when omitted. */
  logger?: FastifyBaseLogger;
}

/**
 * Drops the per-request lines (a scrape every few seconds would drown the logs) but keeps
 * error logs, which Fastify's `disableRequestLogging` would silence as well.
 */
class ErrorsOnlyLogController extends LogController {
  override incomingRequest(): void {
    // deliberately silent
  }

  override requestCompleted(...args: Parameters<LogController['requestCompleted']>): void {
    if (args[0]) super.requestCompleted(...args);
  }
}

/** Server timeouts of the metrics listener. Keep-alive outlives the usual 15 s scrape interval. */
export const METRICS_TIMEOUTS = { requestMs: 10_000, connectionMs: 30_000, keepAliveMs: 72_000, headersMs: 10_000 } as const;

/**
 * The ops app for METRICS_PORT: a second Fastify instance so scrapes bypass the API's
 * auth, rate limit and request metrics, and the port can stay off the public network.
 * It never listens itself; the caller does.
 */
export function buildMetricsApp(metrics: FlowdMetrics, options: MetricsAppOptions = {}): FastifyInstance {
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : {}),
    logController: new ErrorsOnlyLogController(),
    // Fastify's defaults are unbounded; a scrape is small and fast, so these are tight.
    requestTimeout: METRICS_TIMEOUTS.requestMs,
    connectionTimeout: METRICS_TIMEOUTS.connectionMs,
    keepAliveTimeout: METRICS_TIMEOUTS.keepAliveMs,
    http: { headersTimeout: METRICS_TIMEOUTS.headersMs },
  });

  app.get('/metrics', async (_request, reply) => {
    const body = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(body);
  });

  app.setNotFoundHandler((_request, reply) => reply.code(404).type('text/plain; charset=utf-8').send('Not Found\n'));

  return app;
}
