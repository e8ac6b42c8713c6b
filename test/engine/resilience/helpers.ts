/**
 * Shared builders for the resilience tests: flows with `http` components pointing at a
 * fault upstream (test/helpers/fault-upstream.ts), and engines that are closed after each test.
 */
import type { Journal } from '../../../src/engine/journal/journal.js';
import { recordView } from '../../../src/engine/journal/record-view.js';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import type { FlowEngine } from '../../../src/engine/flow-engine.js';
import type { Middleware, RetryEvent } from '../../../src/engine/middleware.js';
import type { ExecutionRecord } from '../../../src/engine/record.js';
import { buildEngine, type CreateEngineOptions } from '../../../src/library.js';
import { startFaultUpstream, type FaultUpstream } from '../../helpers/fault-upstream.js';

export type Definition = Record<string, unknown>;

/**
 * The fault upstream of a test file: started before its tests, reset before each, closed after
 * them. The object returned stands for it (it exists once the file's tests run).
 */
export function useFaultUpstream(): FaultUpstream {
  let started: FaultUpstream | undefined;
  const current = (): FaultUpstream => {
    if (started === undefined) throw new Error('the fault upstream starts before the tests: use it inside a test or hook');
    return started;
  };
  beforeAll(async () => {
    started = await startFaultUpstream();
  });
  afterAll(async () => {
    await started?.close();
  });
  beforeEach(() => {
    started?.reset();
  });
  return {
    get url() {
      return current().url;
    },
    get port() {
      return current().port;
    },
    script: (route, ...steps) => current().script(route, ...steps),
    calls: (route) => current().calls(route),
    count: (route) => current().count(route),
    maxConcurrency: (route) => current().maxConcurrency(route),
    inFlight: (route) => current().inFlight(route),
    waitFor: (predicate, timeoutMs, what) => current().waitFor(predicate, timeoutMs, what),
    waitForCalls: (route, n, timeoutMs) => current().waitForCalls(route, n, timeoutMs),
    waitForAbort: (route, timeoutMs) => current().waitForAbort(route, timeoutMs),
    reset: () => current().reset(),
    close: () => current().close(),
  };
}

/** An `http` component aimed at the upstream, plus policy keys (retry_policy, timeout_ms, circuit_breaker …). */
export function httpComponent(upstream: FaultUpstream, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { adapter: 'http', base_url: upstream.url, ...extra };
}

export interface CallFlowOptions {
  name?: string;
  method?: string;
  path?: string;
  /** Extra keys of the `api` component. */
  component?: Record<string, unknown>;
  /** Extra keys of the single call phase `call`. */
  phase?: Record<string, unknown>;
  /** Extra top-level keys of the flow. */
  flow?: Record<string, unknown>;
}

/** A flow with one call phase `call` on component `api` (`METHOD path` on the upstream), output = response body. */
export function callFlow(upstream: FaultUpstream, options: CallFlowOptions = {}): Definition {
  return {
    name: options.name ?? 'call',
    components: { api: httpComponent(upstream, options.component) },
    phases: [
      {
        id: 'call',
        component: 'api',
        request: { method: options.method ?? 'GET', path: options.path ?? '/thing' },
        output: '{% result.body %}',
        ...options.phase,
      },
    ],
    ...options.flow,
  };
}

const open: FlowEngine[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((engine) => engine.close()));
});

/**
 * An engine over the given flows, allowed to reach 127.0.0.1, closed after the test.
 * `random` defaults to () => 0, so full-jitter backoff waits 0 ms unless a test asks otherwise.
 */
export async function engineWith(flows: readonly Definition[], options: Omit<CreateEngineOptions, 'flows'> = {}): Promise<FlowEngine> {
  const { engine } = await buildEngine({ flows, egressAllow: ['127.0.0.1'], random: () => 0, ...options });
  open.push(engine);
  return engine;
}

/** Middleware that records retry events (attempt that failed, computed delay, error code). */
export function retrySpy(): Middleware & { events: { attempt: number; delayMs: number; code: string; phase: string }[] } {
  const events: { attempt: number; delayMs: number; code: string; phase: string }[] = [];
  return {
    name: 'retry-spy',
    events,
    onRetry(event: RetryEvent) {
      events.push({ attempt: event.attempt, delayMs: event.delayMs, code: event.error.code, phase: event.phase.id });
    },
  };
}

/** Collects every record an engine finishes (children, recovery flows and triggered flows included). */
export function recordCollector(): { records: ExecutionRecord[]; observer: { onFinish(journal: Journal): void } } {
  const records: ExecutionRecord[] = [];
  return { records, observer: { onFinish: (journal) => void records.push(recordView(journal.entries)) } };
}

export function phase(record: ExecutionRecord, id: string, index?: number): ExecutionRecord['phases'][number] {
  const found = record.phases.find((p) => p.id === id && (index === undefined || p.index === index));
  if (found === undefined) throw new Error(`no phase record "${id}"${index === undefined ? '' : `#${index}`} in ${JSON.stringify(record.phases.map((p) => p.id))}`);
  return found;
}
