#!/usr/bin/env node
import type { AddressInfo } from 'node:net';
import closeWithGrace from 'close-with-grace';
import { loadConfig, type EnvConfig } from './config/env.js';
import { ConfigurationError } from './errors.js';
import { createService, type Service, type ServiceOptions } from './service.js';
import { isEntryPoint } from './entry-point.js';

/** After SHUTDOWN_TIMEOUT_MS, how long cancelled executions get to end before the apps close. */
const CANCEL_GRACE_MS = 500;

/**
 * Process entry (`node dist/src/server.js`, `flowd serve`, `flowd dev`): load config, build the
 * apps, listen on two ports, reload the flows on SIGHUP, close gracefully on SIGTERM/SIGINT.
 */
export async function startServer(options: ServiceOptions = {}): Promise<void> {
  let config: EnvConfig;
  let service: Service;
  try {
    config = loadConfig();
    service = await createService(config, options);
  } catch (error) {
    if (error instanceof ConfigurationError) {
      process.stderr.write(`flowd: refusing to start.\n${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  // Auth settings were checked by loadConfig (no keys on a non-loopback HOST without AUTH_DISABLED
  // refuses to start); the API app logs a warning at every start while auth is off.
  const { app, metricsApp, state, logger } = service;

  await app.listen({ host: config.HOST, port: config.PORT });
  await metricsApp.listen({ host: config.METRICS_HOST ?? config.HOST, port: config.METRICS_PORT });
  state.ready = true;
  // The bound ports (PORT=0 / METRICS_PORT=0 pick free ones).
  const port = (app.server.address() as AddressInfo).port;
  const metricsPort = (metricsApp.server.address() as AddressInfo).port;
  logger.info({ flows: service.built.flows.size, port, metricsPort, watching: config.FLOWS_WATCH, url: `http://${config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST}:${port}` }, 'flowd ready');

  // SIGHUP reloads the flows (as POST /catalog/reload does); it does not stop the service.
  process.on('SIGHUP', () => void service.built.reloader.reload('signal'));
  closeWithGrace({ delay: config.SHUTDOWN_TIMEOUT_MS + 1000, logger, skip: ['SIGHUP'] }, async ({ signal, err }) => {
    if (err !== undefined) logger.error({ err }, 'closing after an error');
    logger.info({ signal, inFlight: service.built.engine.activeExecutions }, 'shutting down: no new executions, draining in-flight ones');
    state.shuttingDown = true;
    const { engine } = service.built;
    const idleBy = async (deadline: number): Promise<boolean> => {
      while (engine.activeExecutions > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
      return engine.activeExecutions === 0;
    };
    if (!(await idleBy(Date.now() + config.SHUTDOWN_TIMEOUT_MS))) {
      // Cancelled executions end (compensating when transactional) and their requests get an
      // answer, so closing the API does not wait on them past the hard limit.
      const cancelled = engine.cancelAll('the service is shutting down');
      logger.warn({ cancelled }, 'shutdown timeout reached: cancelling the executions still running');
      await idleBy(Date.now() + CANCEL_GRACE_MS);
    }
    await service.close();
    logger.info({}, 'flowd stopped');
  });
}

if (isEntryPoint(import.meta.url)) await startServer();
