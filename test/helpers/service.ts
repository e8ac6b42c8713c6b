import { PassThrough } from 'node:stream';
import { loadConfig } from '../../src/config/env.js';
import { createService, type Service, type ServiceOptions } from '../../src/service.js';

export interface TestService extends Service {
  /** Every log line written so far, parsed. */
  logLines(): Record<string, unknown>[];
}

/** A fully wired service (not listening) with test-friendly defaults; env overrides win. */
export async function startTestService(env: Record<string, string> = {}, options: ServiceOptions = {}): Promise<TestService> {
  const lines: string[] = [];
  const destination = new PassThrough();
  destination.on('data', (chunk: Buffer) => lines.push(...chunk.toString('utf8').split('\n').filter((line) => line !== '')));
  const fullEnv = { FLOWS_DIR: './flows', LOG_LEVEL: 'info', STORE: 'memory', PERSISTENCE: 'none', ...env };
  const service = await createService(loadConfig(fullEnv), { logDestination: destination, env: fullEnv, ...options });
  service.state.ready = true;
  return Object.assign(service, { logLines: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) });
}
