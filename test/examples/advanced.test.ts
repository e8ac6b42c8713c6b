/**
 * examples/advanced.ts: the seed's config (retry policy, per-phase timeouts) maps onto the flow
 * definitions; logging and metrics middleware observe the execution; per-call options apply.
 * Against a real fault-injecting upstream.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CallPhase } from '../../src/flows/compiled.js';
import { buildEngine } from '../../src/index.js';
import {
  advancedConfig,
  applyConfig,
  complexFlow,
  createFlowManager,
  loggingMiddleware,
  main,
  metricsMiddleware,
  newMetrics,
} from '../../examples/advanced.js';
import { failTimes, ok, startFaultUpstream, type FaultUpstream } from '../helpers/fault-upstream.js';

let upstream: FaultUpstream;
beforeAll(async () => {
  upstream = await startFaultUpstream();
});
afterAll(async () => {
  await upstream.close();
});
beforeEach(() => {
  upstream.reset();
  scriptApi();
});

function scriptApi(): void {
  upstream.script('/accounts/*', ok({ plan: 'pro' }));
  upstream.script('POST /quotes', ok({ price: 42 }));
  upstream.script('GET /risk', { delayMs: 300, body: { score: 0.2 } });
  upstream.script('GET /offers', { delayMs: 300, body: ['upgrade'] });
}

const api = () => ({ adapter: 'http', base_url: upstream.url });

describe('examples/advanced.ts', () => {
  it('maps the seed config: retry policy as the flow default, <phase>_timeout seconds as phase deadlines', async () => {
    const built = await buildEngine({ flows: [applyConfig(complexFlow(), advancedConfig)] });
    try {
      const [phase1, phase2, enrich] = built.flows.get('complex_flow')!.phases as [CallPhase, CallPhase, { kind: string }];
      expect(phase1.timeoutMs).toBe(30_000);
      expect(phase2.timeoutMs).toBe(60_000);
      expect(phase1.retry).toMatchObject({ maxAttempts: 3, backoffFactor: 2 });
      expect(phase2.retry).toMatchObject({ maxAttempts: 3, backoffFactor: 2 });
      expect(enrich.kind).toBe('parallel');
    } finally {
      await built.engine.close();
    }
  });

  it('rejects a timeout for a phase no flow has', async () => {
    await expect(createFlowManager({ timeout_settings: { phase9_timeout: 1 } }, { flows: [complexFlow()] })).rejects.toThrow(/phase9_timeout/);
  });

  it('main() runs complex_flow with the middleware and options, out of the box', async () => {
    const lines: string[] = [];
    const { record, metrics } = await main((line) => lines.push(line));

    expect(record.status).toBe('succeeded');
    expect(record.output).toEqual({ account: { id: 'acc-7', plan: 'pro' }, quote: { price: 42 }, risk: { score: 0.1 }, offers: ['upgrade'] });
    expect(lines[0]).toMatch(/^start complex_flow /);
    expect(lines).toContain('phase phase1 succeeded attempts=1');
    expect(metrics).toMatchObject({ activeFlows: 0, flowCompletions: { succeeded: 1 }, cacheMisses: 1, cacheHits: 0 });
  });

  it('retries with the configured policy, and the middleware see it', async () => {
    upstream.script('/accounts/*', failTimes(2), ok({ plan: 'pro' }));
    const lines: string[] = [];
    const metrics = newMetrics();
    const engine = await createFlowManager(
      { retry_policy: { max_attempts: 3, backoff_factor: 2, initial_delay_ms: 10 } },
      { flows: [complexFlow(api())], egressAllow: ['127.0.0.1'], middleware: [loggingMiddleware((l) => lines.push(l)), metricsMiddleware(metrics)], random: () => 1 },
    );
    try {
      const record = await engine.execute('complex_flow', { account: 'a-1' }, { enableCaching: true, parallelExecution: true });

      expect(record.status).toBe('succeeded');
      expect(upstream.count('/accounts/*')).toBe(3);
      expect(lines.filter((l) => l.startsWith('retry phase1'))).toEqual([
        'retry phase1 after attempt 1 (FLOWD_ERR_COMPONENT_FAILED) in 10 ms',
        'retry phase1 after attempt 2 (FLOWD_ERR_COMPONENT_FAILED) in 20 ms',
      ]);
      expect(metrics.retries).toBe(2);
      expect(lines).toContain('phase phase1 succeeded attempts=3');
    } finally {
      await engine.close();
    }
  });

  it('a per-phase timeout from timeout_settings ends a hanging phase', async () => {
    upstream.script('/accounts/*', { hang: true });
    const engine = await createFlowManager({ timeout_settings: { phase1_timeout: 0.2 } }, { flows: [complexFlow(api())], egressAllow: ['127.0.0.1'] });
    try {
      const record = await engine.execute('complex_flow', { account: 'a-2' });

      expect(record.error).toMatchObject({ code: 'FLOWD_ERR_PHASE_TIMEOUT', phase: 'phase1' });
      expect(record.error?.message).toContain('200 ms deadline');
      await upstream.waitForAbort('/accounts/*');
    } finally {
      await engine.close();
    }
  });

  it('per-call options: enableCaching serves phase1 from the cache; parallelExecution false serialises the parallel block', async () => {
    const metrics = newMetrics();
    const engine = await createFlowManager(advancedConfig, { flows: [complexFlow(api())], egressAllow: ['127.0.0.1'], middleware: [metricsMiddleware(metrics)] });
    try {
      await engine.execute('complex_flow', { account: 'a-3' }, { enableCaching: true, parallelExecution: true });
      expect(upstream.maxConcurrency()).toBe(2);
      upstream.reset();
      scriptApi();

      const second = await engine.execute('complex_flow', { account: 'a-3' }, { enableCaching: true, parallelExecution: false });
      const uncached = await engine.execute('complex_flow', { account: 'a-3' }, { enableCaching: false });

      expect(second.phases.find((p) => p.id === 'phase1')?.cached).toBe(true);
      expect(metrics).toMatchObject({ cacheHits: 1, cacheMisses: 1 });
      expect(uncached.phases.find((p) => p.id === 'phase1')?.cached).toBeUndefined();
      expect(upstream.count('/accounts/*')).toBe(1);
      expect(upstream.maxConcurrency('GET /risk') + upstream.maxConcurrency('GET /offers')).toBe(2);
      // the parallelExecution:false run never had both branches in flight at once
      const [risk, offers] = [upstream.calls('GET /risk')[0]!, upstream.calls('GET /offers')[0]!];
      const [first, later] = risk.receivedAt < offers.receivedAt ? [risk, offers] : [offers, risk];
      expect(later.receivedAt).toBeGreaterThanOrEqual(first.endedAt!);
    } finally {
      await engine.close();
    }
  });
});
