/**
 * Issue rule 1, configuration side: keys are hashes only, auth is off only on purpose (or on
 * loopback) with a warning at every start, a non-loopback bind without keys refuses to start,
 * public paths are configurable and exact, and the key generator's output is what start accepts.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EnvSchema, loadConfig } from '../../src/config/env.js';
import { ConfigurationError } from '../../src/errors.js';
import { ApiKeyVerifier, createApiKey, hashApiKey, loadApiKeys, parseApiKeys } from '../../src/http/auth/index.js';
import { createService } from '../../src/service.js';
import { apiKeysEnv, echoFlow, expectProblem, makeKey, startService, writeFlowsDir } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function configError(run: () => unknown): ConfigurationError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigurationError) return error;
    throw error;
  }
  throw new Error('expected a ConfigurationError');
}

describe('refuses to start open on a non-loopback address', () => {
  for (const host of ['0.0.0.0', '::', '10.1.2.3', '192.168.0.10', 'flowd.internal', '127.0.0.1.nip.io', '[::ffff:127.0.0.1]']) {
    it(`HOST=${host} without API_KEYS → ConfigurationError naming API_KEYS`, () => {
      const error = configError(() => loadConfig({ HOST: host }));
      expect(error.issues.map((issue) => issue.path)).toContain('API_KEYS');
      expect(error.message).toMatch(/AUTH_DISABLED=true/);
    });
  }

  it('the app refuses too when handed a config that skipped loadConfig (defence in depth)', async () => {
    const dir = writeFlowsDir([echoFlow('alpha')]);
    try {
      const config = Object.freeze(EnvSchema.parse({ HOST: '0.0.0.0', FLOWS_DIR: dir.dir, LOG_LEVEL: 'silent', STORE: 'memory' }));
      await expect(createService(config, { env: {} })).rejects.toBeInstanceOf(ConfigurationError);
    } finally {
      dir.remove();
    }
  });

  for (const host of ['127.0.0.1', '127.0.0.53', 'localhost', '::1']) {
    it(`HOST=${host} without keys starts (local exploration)`, () => {
      expect(loadConfig({ HOST: host }).HOST).toBe(host);
    });
  }
});

describe('auth off is explicit and loud', () => {
  const warning = /authentication is (DISABLED|disabled)/;

  it('AUTH_DISABLED=true on 0.0.0.0 starts open and warns at every start', async () => {
    for (let start = 0; start < 2; start++) {
      const t = await startService([echoFlow('alpha')], { HOST: '0.0.0.0', AUTH_DISABLED: 'true' });
      try {
        const response = await t.service.app.inject({ method: 'POST', url: '/flows/alpha/execute', payload: { input: {} } });
        expect(response.statusCode).toBe(200);
        const lines = t.logs().split('\n').filter((line) => warning.test(line));
        expect(lines).toHaveLength(1);
        expect(JSON.parse(lines[0]!).level).toBe(40);
      } finally {
        await t.close();
      }
    }
  });

  it('loopback without keys starts open with a warning', async () => {
    const t = await startService([echoFlow('alpha')], {});
    try {
      await t.service.app.ready();
      expect(t.logs()).toMatch(warning);
      expect((await t.service.app.inject({ method: 'GET', url: '/executions' })).statusCode).toBe(200);
    } finally {
      await t.close();
    }
  });

  it('keys configured: AUTH_DISABLED=true is ignored (with a warning), auth stays on', async () => {
    const key = makeKey('k', ['flows:read']);
    const t = await startService([echoFlow('alpha')], { HOST: '0.0.0.0', AUTH_DISABLED: 'true', API_KEYS: key.entry });
    try {
      expectProblem(await t.service.app.inject({ method: 'GET', url: '/flows' }), 401, 'FLOWD_ERR_UNAUTHENTICATED');
      expect(t.logs()).toMatch(/AUTH_DISABLED=true is ignored/);
      expect(t.logs()).not.toMatch(warning);
    } finally {
      await t.close();
    }
  });
});

describe('API_KEYS holds hashes only, and every problem is listed at start', () => {
  const good = createApiKey({ name: 'good', scopes: ['flows:read'] });

  it('a plaintext key instead of its hash is refused, and the value is not echoed', () => {
    const plaintext = createApiKey({ name: 'x', scopes: ['admin'] }).key;
    const error = configError(() => loadConfig({ API_KEYS: `ops:${plaintext}:admin` }));
    expect(error.message).toMatch(/SHA-256 of the key as 64 hex digits, never the key itself/);
    expect(error.message).not.toContain(plaintext);
  });

  it('lists every bad entry at once: name, hash, scope, flow name, duplicates, empty scopes', () => {
    const h = (n: number): string => hashApiKey(`key-${n}`);
    const text = [
      `bad name!:${h(1)}:admin`,
      `a:${h(2)}:flows:write`,
      `b:${h(3)}:flows:execute:../etc|ok-flow`,
      `c:${h(4)}:`,
      `d:${h(5)}:admin`,
      `d:${h(6)}:admin`,
      `e:${h(5)}:admin`,
      `f:nothex:admin`,
    ].join(';');
    const { issues } = parseApiKeys(text);
    const messages = issues.map((issue) => `${issue.path} ${issue.message}`).join('\n');
    expect(messages).toMatch(/API_KEYS\[0\] key name must match/);
    expect(messages).toMatch(/unknown scope "flows:write"/);
    expect(messages).toMatch(/"\.\.\/etc" in flows:execute:… is not a flow name/);
    expect(messages).toMatch(/key "c": has no scopes/);
    expect(messages).toMatch(/key name "d" is used twice/);
    expect(messages).toMatch(/key "e": the same key hash is configured twice/);
    expect(messages).toMatch(/key "f": the second field must be the SHA-256/);
    expect(() => loadConfig({ API_KEYS: text })).toThrow(ConfigurationError);
    // The good entry next to bad ones still parses the same way.
    expect(parseApiKeys(`${good.entry};${text}`).keys.map((k) => k.name)).toContain('good');
  });

  it('a key only authenticates against its own hash (every hash compared, constant-time)', () => {
    const keys = Array.from({ length: 20 }, (_, i) => createApiKey({ name: `k${i}`, scopes: ['flows:read'] }));
    const verifier = new ApiKeyVerifier(loadApiKeys(keys.map((k) => k.entry).join('\n')));
    keys.forEach((k, i) => expect(verifier.verify(k.key)?.name).toBe(`k${i}`));
    expect(verifier.verify(keys[0]!.hash)).toBeUndefined();
    expect(verifier.verify('')).toBeUndefined();
  });
});

describe('creating a key', () => {
  it('createApiKey() prints an entry that start accepts and a key that authenticates', async () => {
    const created = createApiKey({ name: 'ci', scopes: ['flows:execute:alpha', 'flows:read'] });
    expect(created.key).toMatch(/^flowd_[A-Za-z0-9_-]{43}$/);
    expect(created.entry).not.toContain(created.key);
    const t = await startService([echoFlow('alpha')], { API_KEYS: created.entry });
    try {
      const response = await t.service.app.inject({ method: 'POST', url: '/flows/alpha/execute', headers: { authorization: `Bearer ${created.key}` }, payload: { input: {} } });
      expect(response.statusCode).toBe(200);
    } finally {
      await t.close();
    }
  });

  it('createApiKey() refuses a bad name or scope instead of printing an entry start would refuse', () => {
    expect(() => createApiKey({ name: 'has space', scopes: ['admin'] })).toThrow(ConfigurationError);
    expect(() => createApiKey({ name: 'ok', scopes: ['root'] })).toThrow(ConfigurationError);
  });

  it('scripts/create-api-key.mjs (no build, no dependencies) prints an entry in the same format', async () => {
    const result = spawnSync(process.execPath, ['scripts/create-api-key.mjs', 'ops', 'flows:read,executions:read'], { cwd: ROOT, encoding: 'utf8' });
    expect(result.status).toBe(0);
    const [key, entry] = [/^(flowd_\S+)$/m.exec(result.stdout)?.[1], /^(ops:[0-9a-f]{64}:\S+)$/m.exec(result.stdout)?.[1]];
    expect(key).toBeDefined();
    const keys = loadApiKeys(entry!);
    expect(keys[0]?.grants).toMatchObject({ flowsRead: true, executionsRead: true, admin: false });
    expect(new ApiKeyVerifier(keys).verify(key!)?.name).toBe('ops');
    const refused = spawnSync(process.execPath, ['scripts/create-api-key.mjs', 'ops', 'flows:write'], { cwd: ROOT, encoding: 'utf8' });
    expect(refused.status).toBe(2);
  });
});

describe('PUBLIC_PATHS', () => {
  const reader = makeKey('reader', ['flows:read']);

  it('defaults to the health routes only: the API documents are behind flows:read', async () => {
    const t = await startService([echoFlow('alpha')], { API_KEYS: apiKeysEnv(reader) });
    try {
      for (const url of ['/openapi.json', '/docs/json']) {
        expectProblem(await t.service.app.inject({ method: 'GET', url }), 401, 'FLOWD_ERR_UNAUTHENTICATED');
      }
      expect((await t.service.app.inject({ method: 'GET', url: '/openapi.json', headers: reader.auth })).statusCode).toBe(200);
      expect((await t.service.app.inject({ method: 'GET', url: '/health/ready' })).statusCode).not.toBe(401);
    } finally {
      await t.close();
    }
  });

  it('is configurable: an operator can make the documents public, or take a probe out', async () => {
    const t = await startService([echoFlow('alpha')], { API_KEYS: apiKeysEnv(reader), PUBLIC_PATHS: '/health/live,/openapi.json,/docs/json' });
    try {
      for (const url of ['/openapi.json', '/docs/json']) expect((await t.service.app.inject({ method: 'GET', url })).statusCode, url).toBe(200);
      expectProblem(await t.service.app.inject({ method: 'GET', url: '/health/ready' }), 401, 'FLOWD_ERR_UNAUTHENTICATED');
    } finally {
      await t.close();
    }
  });

  it('matches route patterns exactly: PUBLIC_PATHS=/flows does not open /flows/:name/execute', async () => {
    const t = await startService([echoFlow('alpha')], { API_KEYS: apiKeysEnv(reader), PUBLIC_PATHS: '/flows,/health/live' });
    try {
      expect((await t.service.app.inject({ method: 'GET', url: '/flows' })).statusCode).toBe(200);
      expectProblem(await t.service.app.inject({ method: 'POST', url: '/flows/alpha/execute', payload: { input: {} } }), 401, 'FLOWD_ERR_UNAUTHENTICATED');
      expectProblem(await t.service.app.inject({ method: 'GET', url: '/flows/alpha' }), 401, 'FLOWD_ERR_UNAUTHENTICATED');
    } finally {
      await t.close();
    }
  });

  it('a /* entry opens everything below it, and making execute public is warned about', async () => {
    const t = await startService([echoFlow('alpha')], { API_KEYS: apiKeysEnv(reader), PUBLIC_PATHS: '/flows/*' });
    try {
      expect((await t.service.app.inject({ method: 'POST', url: '/flows/alpha/execute', payload: { input: {} } })).statusCode).toBe(200);
      expect(t.logs()).toMatch(/PUBLIC_PATHS makes routes that execute flows or show executions public/);
    } finally {
      await t.close();
    }
  });

  it('refuses entries that are not paths', () => {
    expect(() => loadConfig({ PUBLIC_PATHS: 'health/live' })).toThrow(ConfigurationError);
  });
});
