/**
 * Helpers for the security suite: a whole service (createService + loadConfig) over flows written
 * to a temporary directory, with its log lines captured, and API keys made the way operators make
 * them (createApiKey → API_KEYS entry).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { LightMyRequestResponse } from 'fastify';
import { afterEach } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { createApiKey } from '../../src/http/auth/index.js';
import { createService, type Service, type ServiceOptions } from '../../src/service.js';
import { createTestDatabase, type Backend, type TestDatabase } from '../durable/helpers.js';

export interface TestKey {
  readonly name: string;
  readonly key: string;
  readonly entry: string;
  readonly auth: { authorization: string };
}

export function makeKey(name: string, scopes: readonly string[]): TestKey {
  const created = createApiKey({ name, scopes });
  return { name, key: created.key, entry: created.entry, auth: { authorization: `Bearer ${created.key}` } };
}

export function apiKeysEnv(...keys: readonly TestKey[]): string {
  return keys.map((k) => k.entry).join(';');
}

/** A temporary FLOWS_DIR holding each definition as `<name>.json`. */
export function writeFlowsDir(flows: readonly Record<string, unknown>[]): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'flowd-sec-'));
  for (const flow of flows) writeFileSync(join(dir, `${String(flow['name'])}.json`), JSON.stringify(flow));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface TestService {
  readonly service: Service;
  /** Every log line written so far (JSON lines). */
  logs(): string;
  close(): Promise<void>;
}

/** A service over `flows` with `env` on top of quiet defaults. */
export async function startService(
  flows: readonly Record<string, unknown>[],
  env: Record<string, string> = {},
  options: Omit<ServiceOptions, 'logDestination' | 'env'> = {},
): Promise<TestService> {
  const dir = writeFlowsDir(flows);
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString('utf8'));
      callback();
    },
  });
  // Memory store: records are inspectable in-process and nothing is written under ./data.
  const fullEnv = { FLOWS_DIR: dir.dir, LOG_LEVEL: 'info', LOG_PRETTY: 'false', STORE: 'memory', ...env };
  let service: Service;
  try {
    service = await createService(loadConfig(fullEnv), { ...options, logDestination: destination, env: fullEnv });
  } catch (error) {
    dir.remove();
    throw error;
  }
  return {
    service,
    logs: () => lines.join(''),
    async close() {
      await service.close();
      dir.remove();
    },
  };
}

/**
 * Services on a fresh store of `backend` each, closed and dropped after each test: call in a
 * describe, then `await start(backend, flows, env)` in its tests.
 */
export function useStoreBackedService(): (backend: Backend, flows: readonly Record<string, unknown>[], env?: Record<string, string>) => Promise<TestService> {
  const opened: { service: TestService | undefined; db: TestDatabase }[] = [];
  afterEach(async () => {
    for (const { service, db } of opened.splice(0)) {
      await service?.close();
      await db.drop();
    }
  });
  return async (backend, flows, env = {}) => {
    const db = await createTestDatabase(backend);
    const entry: { service: TestService | undefined; db: TestDatabase } = { service: undefined, db };
    opened.push(entry);
    entry.service = await startService(flows, { ...db.env, RATE_LIMIT_PER_MINUTE: '0', ...env });
    return entry.service;
  };
}

/** A flow whose only phase echoes its input through the pure transform adapter. */
export function echoFlow(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    description: `echoes its input (${name})`,
    phases: [{ id: 'echo', component: 'transform', request: '{% input %}' }],
    ...extra,
  };
}

export function json(response: LightMyRequestResponse): Record<string, unknown> {
  return JSON.parse(response.body) as Record<string, unknown>;
}

/** Asserts a problem+json answer with `status` and `code`; returns the body. */
export function expectProblem(response: LightMyRequestResponse, status: number, code: string): Record<string, unknown> {
  const body = json(response);
  if (response.statusCode !== status || body['code'] !== code || !String(response.headers['content-type']).startsWith('application/problem+json')) {
    throw new Error(`expected ${status} ${code} problem+json, got ${response.statusCode} ${String(response.headers['content-type'])}: ${response.body.slice(0, 500)}`);
  }
  return body;
}
