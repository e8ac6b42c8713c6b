/**
 * Issue rule 2 — overload and abuse: per-key rate limit (429 + Retry-After), a bound on in-flight
 * executions and event-loop-pressure shedding (503 + Retry-After). Nothing queues without bound.
 */
import '@fastify/under-pressure';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import type { ComponentAdapter } from '../../src/adapters/types.js';
import { apiKeysEnv, echoFlow, expectProblem, makeKey, startService, type TestService } from './helpers.js';

let t: TestService | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

function retryAfter(response: { headers: Record<string, unknown> }): number {
  return Number(response.headers['retry-after']);
}

describe('rate limit per key (RATE_LIMIT_PER_MINUTE)', () => {
  const a = makeKey('a', ['flows:read']);
  const b = makeKey('b', ['flows:read']);

  it('the request after the limit gets 429 problem+json with Retry-After; another key is unaffected', async () => {
    t = await startService([echoFlow('alpha')], { API_KEYS: apiKeysEnv(a, b), RATE_LIMIT_PER_MINUTE: '3' });
    for (let i = 0; i < 3; i++) expect((await t.service.app.inject({ method: 'GET', url: '/flows', headers: a.auth })).statusCode).toBe(200);
    const limited = await t.service.app.inject({ method: 'GET', url: '/flows', headers: a.auth });
    const body = expectProblem(limited, 429, 'FLOWD_ERR_RATE_LIMITED');
    expect(retryAfter(limited)).toBeGreaterThanOrEqual(1);
    expect(retryAfter(limited)).toBeLessThanOrEqual(60);
    expect(String(body['detail'])).toContain('API key "a"');
    // Another key has its own budget, even from the same address.
    expect((await t.service.app.inject({ method: 'GET', url: '/flows', headers: b.auth })).statusCode).toBe(200);
  });

  it('a key cannot escape its bucket by changing address, and limited requests do not run', async () => {
    const exec = makeKey('exec', ['flows:execute']);
    t = await startService([echoFlow('alpha')], { API_KEYS: apiKeysEnv(exec), RATE_LIMIT_PER_MINUTE: '2' });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const response = await t.service.app.inject({ method: 'POST', url: '/flows/alpha/execute', headers: exec.auth, remoteAddress: `10.0.0.${i + 1}`, payload: { input: {} } });
      statuses.push(response.statusCode);
    }
    expect(statuses).toEqual([200, 200, 429, 429, 429]);
    expect((await t.service.reads.list({ limit: 50 }, { tenant: 'exec', allTenants: false })).items).toHaveLength(2);
  });

  it('without a valid key the limit is per client address, and failed attempts count (no free key guessing)', async () => {
    t = await startService([echoFlow('alpha')], { API_KEYS: apiKeysEnv(a), RATE_LIMIT_PER_MINUTE: '3' });
    const guess = (address: string, n: number) =>
      t!.service.app.inject({ method: 'GET', url: '/flows', remoteAddress: address, headers: { authorization: `Bearer flowd_guess${n}` } });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await guess('10.9.9.9', i)).statusCode);
    expect(statuses).toEqual([401, 401, 401, 429, 429, 429]);
    expectProblem(await guess('10.9.9.9', 99), 429, 'FLOWD_ERR_RATE_LIMITED');
    // Another address has its own budget; a valid key is limited by its own name, not the address.
    expect((await guess('10.8.8.8', 0)).statusCode).toBe(401);
    expect((await t.service.app.inject({ method: 'GET', url: '/flows', remoteAddress: '10.9.9.9', headers: a.auth })).statusCode).toBe(200);
  });

  it('probes are never rate limited (an orchestrator must not kill a busy instance)', async () => {
    t = await startService([echoFlow('alpha')], { API_KEYS: apiKeysEnv(a), RATE_LIMIT_PER_MINUTE: '1' });
    for (let i = 0; i < 10; i++) expect((await t.service.app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
  });
});

/** A component that waits until the test opens its gate: executions stay in flight on demand. */
function gateAdapter(): { adapter: ComponentAdapter<Record<string, never>>; open(): void } {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  return {
    open,
    adapter: {
      kind: 'gate',
      configSchema: z.strictObject({}),
      create: () => ({
        execute: async () => {
          await gate;
          return { passed: true };
        },
      }),
    },
  };
}

describe('in-flight bound (MAX_INFLIGHT_EXECUTIONS)', () => {
  const gatedFlow = { name: 'gated', components: { g: { adapter: 'gate' } }, phases: [{ id: 'wait', component: 'g' }] };

  it('refuses executions past the bound with 503 FLOWD_ERR_OVERLOADED + Retry-After, and admits again once they end', async () => {
    const gate = gateAdapter();
    t = await startService([gatedFlow, echoFlow('alpha')], { MAX_INFLIGHT_EXECUTIONS: '2' }, { adapters: [gate.adapter as ComponentAdapter<never>] });
    const app = t.service.app;
    const first = app.inject({ method: 'POST', url: '/flows/gated/execute', payload: { input: {} } });
    const second = app.inject({ method: 'POST', url: '/flows/gated/execute', payload: { input: {} } });
    await vi.waitFor(() => expect(t!.service.built.engine.activeExecutions).toBe(2));

    // A burst while full: every one refused at once, nothing queued, nothing started.
    const burst = await Promise.all(Array.from({ length: 20 }, () => app.inject({ method: 'POST', url: '/flows/alpha/execute', payload: { input: {} } })));
    for (const response of burst) {
      expectProblem(response, 503, 'FLOWD_ERR_OVERLOADED');
      expect(retryAfter(response)).toBeGreaterThanOrEqual(1);
    }
    expect(t.service.built.engine.activeExecutions).toBe(2);
    expect((await t.service.reads.list({ limit: 100, flow: 'alpha' }, { tenant: 'x', allTenants: true })).items).toHaveLength(0);

    gate.open();
    expect((await first).statusCode).toBe(200);
    expect((await second).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: '/flows/alpha/execute', payload: { input: {} } })).statusCode).toBe(200);
  });
});

describe('event-loop-pressure shedding (MAX_EVENT_LOOP_DELAY_MS, @fastify/under-pressure)', () => {
  const reader = makeKey('reader', ['flows:read']);

  function blockEventLoop(ms: number): void {
    const until = performance.now() + ms;
    while (performance.now() < until) {
      // a synchronous stall, as a CPU-bound handler would cause
    }
  }

  it('answers 503 problem+json with Retry-After while the loop is stalled; liveness still answers', async () => {
    t = await startService([echoFlow('alpha')], { API_KEYS: apiKeysEnv(reader), MAX_EVENT_LOOP_DELAY_MS: '20', RATE_LIMIT_PER_MINUTE: '0' });
    const app = t.service.app;
    // Start-up work itself stalls the loop for a moment: begin from a calm loop.
    await vi.waitFor(async () => expect((await app.inject({ method: 'GET', url: '/flows', headers: reader.auth })).statusCode).toBe(200), { timeout: 5000, interval: 50 });
    let shed: Awaited<ReturnType<typeof app.inject>> | undefined;
    let livenessUnderPressure: number | undefined;
    // The sampler sees a stall at its next tick; retry a bounded number of times, never forever.
    for (let attempt = 0; attempt < 20 && shed === undefined; attempt++) {
      blockEventLoop(250);
      await new Promise((resolve) => setTimeout(resolve, 25));
      if (!app.isUnderPressure()) continue;
      const response = await app.inject({ method: 'GET', url: '/flows', headers: reader.auth });
      if (response.statusCode !== 503) continue;
      const live = await app.inject({ method: 'GET', url: '/health/live' });
      if (app.isUnderPressure()) {
        shed = response;
        livenessUnderPressure = live.statusCode;
      }
    }
    expect(shed, 'the stalled loop was never detected').toBeDefined();
    expectProblem(shed!, 503, 'FLOWD_ERR_OVERLOADED');
    expect(retryAfter(shed!)).toBeGreaterThanOrEqual(1);
    expect(livenessUnderPressure).toBe(200);
    // And it recovers once the loop is free again.
    await vi.waitFor(async () => expect((await app.inject({ method: 'GET', url: '/flows', headers: reader.auth })).statusCode).toBe(200), { timeout: 5000, interval: 50 });
  });

  it('MAX_EVENT_LOOP_DELAY_MS=0 turns shedding off', async () => {
    t = await startService([echoFlow('alpha')], { MAX_EVENT_LOOP_DELAY_MS: '0' });
    expect(t.service.app.hasDecorator('isUnderPressure')).toBe(false);
  });
});
