import { AsyncLocalStorage } from 'node:async_hooks';
import type { Component, ComponentAdapter } from '../adapters/types.js';
import type { FlowEngine } from '../engine/flow-engine.js';
import { recordView } from '../engine/journal/record-view.js';
import type { Middleware } from '../engine/middleware.js';
import { createMemoryPhaseCache, type PhaseCache } from '../engine/phase-cache.js';
import type { ExecutionRecord } from '../engine/record.js';
import { FlowNotFoundError, FlowdError, isFlowdError, toFlowdError } from '../errors.js';
import { checkSignal } from '../flows/signal-check.js';
import type { CompiledComponent, CompiledFlow } from '../flows/compiled.js';
import type { FlowDefinition } from '../flows/schema.js';
import { buildEngine } from '../library.js';
import { FlowTestResult, type ComponentCall } from './flow-test-result.js';
import { KitWaits } from './kit-waits.js';
import { unmockedNetworkError, type ActiveMock, type CallSite, type ComponentMock } from './mocks.js';

export interface LoadFlowsOptions {
  /** A directory of flow files. */
  readonly flowsDir?: string;
  /** Flow definitions in code (the shape of a flow file). */
  readonly flows?: readonly (FlowDefinition | Record<string, unknown>)[];
  /** Custom adapters the flows use. */
  readonly adapters?: readonly ComponentAdapter<never>[];
  /** Mocks applied to every run (a run's own mocks take precedence). */
  readonly mocks?: readonly ComponentMock[];
  /**
   * Let unmocked `http` components call their upstream (e.g. a local test server; add its host
   * to `egressAllow`). Default false: an unmocked http call fails with FLOWD_ERR_EGRESS_DENIED.
   */
  readonly allowNetwork?: boolean;
  readonly egressAllow?: readonly string[];
  /** Values for `${secret:NAME}`; any other secret resolves to `test-secret-<NAME>`. */
  readonly secrets?: Readonly<Record<string, string>>;
  /** Random source for retry jitter and mock failure rates (`() => 0` makes full-jitter backoff instant). */
  readonly random?: () => number;
  /** Share the phase cache between runs (default: each run starts with an empty cache). */
  readonly sharedCache?: boolean;
  readonly middleware?: readonly Middleware[];
}

export interface RunOptions {
  /** Mocks for this run only, on top of the kit's. */
  readonly mocks?: readonly ComponentMock[];
  readonly timeoutMs?: number;
  readonly enableCaching?: boolean;
  readonly parallelExecution?: boolean;
  readonly signal?: AbortSignal;
}

/** What one run (and every sub-flow, recovery or triggered flow it starts) shares. */
interface RunScope {
  readonly active: readonly ActiveMock[];
  readonly calls: ComponentCall[];
  readonly executions: ExecutionRecord[];
  readonly cache: PhaseCache;
}

/** Flows loaded for tests, with their components replaceable by mocks. */
export interface FlowTestKit {
  readonly engine: FlowEngine;
  readonly flows: ReadonlyMap<string, CompiledFlow>;
  /** Runs a flow to its end; throws only when nothing ran (unknown flow, invalid input: assert on `code`). */
  run(flow: string, input: unknown, options?: RunOptions): Promise<FlowTestResult>;
  /** Runs a flow with one of the examples of its flow file. */
  runExample(flow: string, example: string, options?: RunOptions): Promise<FlowTestResult>;
  /** An example input of a flow (throws when there is none of that name). */
  example(flow: string, name: string): unknown;
  /**
   * Sends a signal to a waiting execution (docs/waits.md) and runs it on until it ends or waits
   * again. The payload is checked against the wait's schema, as the API does.
   */
  signal(executionId: string, name: string, payload?: unknown, options?: RunOptions): Promise<FlowTestResult>;
  /** Answers the callback a call phase waits for (`{ status: 'succeeded', output }` or `{ status: 'failed', error }`), then runs on. */
  callback(executionId: string, phase: string, body: { status: 'succeeded'; output?: unknown } | { status: 'failed'; error: { message: string; code?: string } }, options?: RunOptions): Promise<FlowTestResult>;
  /** Moves the kit's clock forward; executions whose wait is due run on. Returns their results. */
  advance(ms: number, options?: RunOptions): Promise<FlowTestResult[]>;
  /** Adds mocks for every later run. */
  mock(...mocks: ComponentMock[]): void;
  /** Removes the mocks added with `mock()` (those given to `loadFlows` stay). */
  reset(): void;
  close(): Promise<void>;
}

/**
 * Loads flows for testing: every component can be replaced by mocks (canned responses,
 * sequences, failures, latency) that go through the phase's real retry, timeout, breaker,
 * fallback and compensation policies. Unmocked `http` components never reach the network
 * unless `allowNetwork` is set.
 */
export async function loadFlows(options: LoadFlowsOptions): Promise<FlowTestKit> {
  const storage = new AsyncLocalStorage<RunScope>();
  const kitCache = createMemoryPhaseCache();
  const baseMocks = [...(options.mocks ?? [])];
  let addedMocks: ComponentMock[] = [];
  const newScope = (runMocks: readonly ComponentMock[]): RunScope => ({
    // Most specific first: the run's own mocks, then the latest kit mocks.
    active: [...runMocks, ...[...addedMocks].reverse(), ...[...baseMocks].reverse()].map((mock) => mock.activate()),
    calls: [],
    executions: [],
    cache: options.sharedCache === true ? kitCache : createMemoryPhaseCache(),
  });
  // Calls made outside `run()` (e.g. through `kit.engine`) share one scope.
  let outside: RunScope | undefined;
  const currentScope = (): RunScope => storage.getStore() ?? (outside ??= newScope([]));

  const cache: PhaseCache = {
    getOrLoad: (key, ttlMs, load) => currentScope().cache.getOrLoad(key, ttlMs, load),
    clear: () => kitCache.clear(),
  };
  // Waits stop the run (as in a durable service) on the kit's fake clock; `signal`, `callback`, `advance` move it on.
  const waits = new KitWaits();
  const built = await buildEngine({
    clock: waits.clock,
    waitInlineMs: 0,
    callbackUrl: (token) => `http://flowd.test/callbacks/${token}`,
    ...(options.flowsDir === undefined ? {} : { flowsDir: options.flowsDir }),
    ...(options.flows === undefined ? {} : { flows: options.flows }),
    ...(options.adapters === undefined ? {} : { adapters: options.adapters }),
    ...(options.egressAllow === undefined ? {} : { egressAllow: options.egressAllow }),
    ...(options.random === undefined ? {} : { random: options.random }),
    ...(options.middleware === undefined ? {} : { middleware: options.middleware }),
    env: placeholderSecrets(options.secrets ?? {}),
    cache,
    observer: {
      onFinish: (journal) => {
        currentScope().executions.push(recordView(journal.entries));
      },
      suspend: (journal, suspension) => waits.suspend(journal, suspension),
      takeSignal: (journal, name, key) => waits.takeSignal(journal, name, key),
      registerCallback: (journal, callback) => waits.registerCallback(journal, callback),
    },
  });
  for (const flow of built.flows.values()) {
    for (const component of flow.components.values()) {
      // The kit owns this engine: swapping the instance in place reaches every phase and
      // compensation that calls the component, with its policies untouched.
      (component as { instance: Component }).instance = mockable(flow.name, component, currentScope, options.allowNetwork === true);
    }
  }

  const example = (flow: string, name: string): unknown => {
    const compiled = built.flows.get(flow);
    if (compiled === undefined) throw new FlowNotFoundError(flow, [...built.flows.keys()]);
    if (!(name in compiled.examples)) {
      throw new FlowdError('FLOWD_ERR_REQUEST_INVALID', `flow "${flow}" has no example "${name}" (examples: ${Object.keys(compiled.examples).join(', ') || 'none'})`);
    }
    return structuredClone(compiled.examples[name]);
  };

  const run = async (flow: string, input: unknown, runOptions: RunOptions = {}): Promise<FlowTestResult> => {
    const scope = newScope(runOptions.mocks ?? []);
    const record = await storage.run(scope, () =>
      built.engine.execute(flow, input, {
        timeoutMs: runOptions.timeoutMs,
        enableCaching: runOptions.enableCaching,
        parallelExecution: runOptions.parallelExecution,
        signal: runOptions.signal,
      }),
    );
    return new FlowTestResult(record, scope.executions, scope.calls);
  };

  /** Runs a waiting execution on from its journal (the service's work queue does this on any replica). */
  const resume = async (executionId: string, runOptions: RunOptions = {}): Promise<FlowTestResult> => {
    const stopped = waits.resume(executionId);
    const flow = built.flows.get(stopped.started.flow)!;
    const scope = newScope(runOptions.mocks ?? []);
    const record = await storage.run(scope, () =>
      built.engine.start(flow, stopped.started.input, {
        journal: built.engine.newJournal(flow, stopped.entries),
        timeoutMs: runOptions.timeoutMs,
        enableCaching: runOptions.enableCaching,
        parallelExecution: runOptions.parallelExecution,
        signal: runOptions.signal,
      }).done,
    );
    return new FlowTestResult(record, scope.executions, scope.calls);
  };

  const signal = async (executionId: string, name: string, payload: unknown = null, runOptions?: RunOptions): Promise<FlowTestResult> => {
    const flow = built.flows.get(waits.flowOf(executionId))!;
    checkSignal(flow, name, payload);
    waits.deliver(executionId, name, payload);
    return resume(executionId, runOptions);
  };

  return {
    engine: built.engine,
    flows: built.flows,
    run,
    signal,
    callback: async (executionId, phase, body, runOptions) => {
      waits.answerCallback(executionId, phase, body);
      return resume(executionId, runOptions);
    },
    advance: async (ms, runOptions) => {
      const due = waits.advance(ms);
      const results: FlowTestResult[] = [];
      for (const id of due) results.push(await resume(id, runOptions));
      return results;
    },
    runExample: (flow, name, runOptions) => run(flow, example(flow, name), runOptions),
    example,
    mock: (...mocks) => {
      addedMocks.push(...mocks);
      outside = undefined;
    },
    reset: () => {
      addedMocks = [];
      outside = undefined;
    },
    close: () => built.engine.close(),
  };
}

/** A component whose calls go through the run's mocks first, then to the real instance. */
function mockable(flow: string, component: CompiledComponent, scopeOf: () => RunScope, allowNetwork: boolean): Component {
  const real = component.instance;
  const passthrough = (request: unknown, ctx: Parameters<Component['execute']>[1]): Promise<unknown> => {
    if (component.adapter === 'http' && !allowNetwork) return Promise.reject(unmockedNetworkError(component.name, flow));
    return real.execute(request, ctx);
  };
  return {
    async execute(request, ctx) {
      const scope = scopeOf();
      const call: CallSite = {
        flow,
        component: component.name,
        phase: ctx.phase,
        attempt: ctx.attempt,
        executionId: ctx.executionId,
        request,
      };
      let mocked = true;
      // Each layer is chosen when reached, so `times` counts stay exact under concurrency.
      const next = (from: number): Promise<unknown> => {
        for (let index = from; index < scope.active.length; index += 1) {
          const layer = scope.active[index]!;
          if (layer.applies(call)) return layer.handle(call, ctx, () => next(index + 1));
        }
        mocked = false;
        return passthrough(request, ctx);
      };
      try {
        const result = await next(0);
        scope.calls.push({ ...call, mocked });
        return result;
      } catch (error) {
        scope.calls.push({ ...call, mocked, errorCode: isFlowdError(error) ? error.code : toFlowdError(error).code });
        throw error;
      }
    },
    ...(real.close === undefined ? {} : { close: () => real.close!() }),
    ...(real.describe === undefined ? {} : { describe: () => real.describe!() }),
  };
}

/** Secrets for tests: the given values, and a recognisable placeholder for any other name. */
function placeholderSecrets(secrets: Readonly<Record<string, string>>): Readonly<Record<string, string | undefined>> {
  return new Proxy<Record<string, string | undefined>>({}, {
    get: (_target, name) => {
      if (typeof name !== 'string') return undefined;
      if (name in secrets) return secrets[name];
      return name.endsWith('_FILE') ? undefined : `test-secret-${name}`;
    },
  });
}
