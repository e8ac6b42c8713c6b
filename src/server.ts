#!/usr/bin/env node
import closeWithGrace from 'close-with-grace';
import { isLoopbackHost, loadConfig, type EnvConfig } from './config/env.js';
import { ConfigurationError } from './errors.js';
import { createService, type Service } from './service.js';

/** Process entry: load config, build the apps, listen on two ports, close gracefully. */
async function main(): Promise<void> {
  let config: EnvConfig;
  let service: Service;
  try {
    config = loadConfig();
    service = await createService(config);
  } catch (error) {
    if (error instanceof ConfigurationError) {
      process.stderr.write(`flowd: refusing to start.\n${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const { app, metricsApp, state, logger } = service;
  if (config.API_KEYS === '' && !isLoopbackHost(config.HOST) && !config.AUTH_DISABLED) {
    logger.fatal({ host: config.HOST }, 'refusing to start: bound to a non-loopback address without API_KEYS (set API_KEYS, or AUTH_DISABLED=true to run open on purpose)');
    await service.close();
    process.exit(1);
  }
  if (config.API_KEYS === '') logger.warn({ host: config.HOST }, 'authentication is disabled: every caller can execute flows and read executions');

  await app.listen({ host: config.HOST, port: config.PORT });
  await metricsApp.listen({ host: config.METRICS_HOST ?? config.HOST, port: config.METRICS_PORT });
  state.ready = true;
  logger.info({ flows: service.built.flows.size, port: config.PORT, metricsPort: config.METRICS_PORT }, 'flowd ready');

  closeWithGrace({ delay: config.SHUTDOWN_TIMEOUT_MS + 1000, logger }, async ({ signal, err }) => {
    if (err !== undefined) logger.error({ err }, 'closing after an error');
    logger.info({ signal, inFlight: service.built.engine.activeExecutions }, 'shutting down: no new executions, draining in-flight ones');
    state.shuttingDown = true;
    const deadline = Date.now() + config.SHUTDOWN_TIMEOUT_MS;
    while (service.built.engine.activeExecutions > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    if (service.built.engine.activeExecutions > 0) {
      logger.warn({ inFlight: service.built.engine.activeExecutions }, 'shutdown timeout reached with executions still running');
    }
    await service.close();
    logger.info({}, 'flowd stopped');
  });
}

await main();
