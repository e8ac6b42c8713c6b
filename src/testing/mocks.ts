import { ComponentError, FlowdError, toFlowdError } from '../errors.js';
import type { AdapterContext } from '../adapters/types.js';
import { sleep } from '../engine/sleep.js';

/** One canned answer of a mocked component. */
export interface MockResponse {
  /** HTTP-like status; 400 or more fails the call like an upstream would. Default 200. */
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: unknown;
  /** The adapter result as is, instead of `{ status, headers, body }` (for transform-like components). */
  readonly result?: unknown;
  /** Waits this long (honouring timeouts and cancellation) before answering. */
  readonly latencyMs?: number;
}

/** Where a component call happened: the part every call record of the test kit shares. */
export interface CallSite {
  readonly flow: string;
  readonly component: string;
  readonly phase: string;
  /** 1 for the first attempt of the phase. */
  readonly attempt: number;
  readonly executionId: string;
  readonly request: unknown;
}

/** What a mocked call sees. */
export interface MockCall extends CallSite {
  /** How many calls this mock has answered before this one, in this run. */
  readonly count: number;
}

export type MockHandler = (request: unknown, call: MockCall) => MockResponse | Promise<MockResponse>;

/** Canned response, a sequence (one per call, the last repeats), or a function of the request. */
export type MockSpec = MockResponse | { readonly sequence: readonly MockResponse[] } | MockHandler;

/** Which calls a mock applies to. */
export interface MockScope {
  /** Only this flow's component of that name (default: every flow's). */
  readonly flow?: string;
  /** Only calls made by this phase (compensations included). */
  readonly phase?: string;
  /** Applies to this many calls, then lets later calls through to what is underneath. */
  readonly times?: number;
}

export interface FailureOptions extends MockScope {
  /** Upstream status of the failure. Default 503 (retried by default policies). */
  readonly status?: number;
  /** `network`: a connection failure; `timeout`: the call hangs until its attempt timeout fires. */
  readonly error?: 'network' | 'timeout';
  readonly body?: unknown;
  /** Sent as Retry-After (seconds). */
  readonly retryAfterSeconds?: number;
  readonly latencyMs?: number;
}

/** `next` answers the call with whatever is underneath this mock (another mock or the real component). */
export type MockNext = () => Promise<unknown>;

/** A mock definition; `activate()` gives it fresh call counters (per run, or per kit). */
export interface ComponentMock {
  readonly component: string;
  readonly scope: MockScope;
  readonly description: string;
  activate(): ActiveMock;
}

export interface ActiveMock {
  readonly mock: ComponentMock;
  applies(call: Omit<MockCall, 'count'>): boolean;
  handle(call: Omit<MockCall, 'count'>, ctx: AdapterContext, next: MockNext): Promise<unknown>;
}

function matches(scope: MockScope, component: string, call: Omit<MockCall, 'count'>): boolean {
  return call.component === component && (scope.flow === undefined || scope.flow === call.flow) && (scope.phase === undefined || scope.phase === call.phase);
}

function defineMock(
  component: string,
  scope: MockScope,
  description: string,
  answer: (call: MockCall, ctx: AdapterContext, next: MockNext) => Promise<unknown>,
): ComponentMock {
  const mock: ComponentMock = {
    component,
    scope,
    description,
    activate() {
      let used = 0;
      return {
        mock,
        applies: (call) => matches(scope, component, call) && (scope.times === undefined || used < scope.times),
        async handle(call, ctx, next) {
          const count = used;
          used += 1;
          return answer({ ...call, count }, ctx, next);
        },
      };
    },
  };
  return mock;
}

/**
 * Replaces a component's answers: `mockComponent('customers', { body: { tier: 'gold' } })`,
 * `mockComponent('payments', { sequence: [{ status: 503 }, { status: 201, body }] })`,
 * `mockComponent('rates', (request) => ({ body: price(request) }))`.
 */
export function mockComponent(component: string, spec: MockSpec, scope: MockScope = {}): ComponentMock {
  return defineMock(component, scope, `mock of ${component}`, async (call, ctx) => {
    const response =
      typeof spec === 'function' ? await spec(call.request, call) : 'sequence' in spec ? spec.sequence[Math.min(call.count, spec.sequence.length - 1)] ?? {} : spec;
    return answer(response, call, ctx);
  });
}

/**
 * Makes a component fail: `mockComponentFailure('payments', { status: 503, times: 2 })` fails the
 * first two calls (then lets calls through); without `times` every call fails. The failure goes
 * through the phase's real retry, breaker and fallback policies.
 */
export function mockComponentFailure(component: string, options: FailureOptions = {}): ComponentMock {
  const kind = options.error ?? `status ${options.status ?? 503}`;
  return defineMock(component, options, `failure of ${component} (${kind})`, async (call, ctx) => {
    if (options.latencyMs !== undefined) await sleep(options.latencyMs, ctx.signal);
    if (options.error === 'timeout') {
      // Hang until the attempt timeout (or the flow deadline) aborts the call.
      await new Promise<never>((_resolve, reject) => {
        const stop = (): void => reject(toFlowdError(ctx.signal.reason));
        if (ctx.signal.aborted) stop();
        ctx.signal.addEventListener('abort', stop, { once: true });
      });
    }
    if (options.error === 'network') {
      throw new ComponentError(`component "${call.component}" is unreachable (mocked network failure)`, { kind: 'network' });
    }
    const status = options.status ?? 503;
    throw new ComponentError(`component "${call.component}" answered ${status} (mocked failure)`, {
      kind: 'status',
      upstreamStatus: status,
      ...(options.body === undefined ? {} : { body: options.body }),
      ...(options.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: options.retryAfterSeconds }),
    });
  });
}

/** Delays a component's calls, then lets them through: `mockComponentLatency('shipping', 300)`. */
export function mockComponentLatency(component: string, latencyMs: number, scope: MockScope = {}): ComponentMock {
  return defineMock(component, scope, `latency of ${component} (${latencyMs} ms)`, async (_call, ctx, next) => {
    await sleep(latencyMs, ctx.signal);
    return next();
  });
}

async function answer(response: MockResponse, call: MockCall, ctx: AdapterContext): Promise<unknown> {
  if (response.latencyMs !== undefined && response.latencyMs > 0) await sleep(response.latencyMs, ctx.signal);
  if ('result' in response) return response.result;
  const status = response.status ?? 200;
  const headers = { ...response.headers };
  const body = response.body ?? null;
  if (status >= 400) {
    const retryAfter = Number(Object.entries(headers).find(([name]) => name.toLowerCase() === 'retry-after')?.[1]);
    throw new ComponentError(`component "${call.component}" answered ${status} (mocked)`, {
      kind: 'status',
      upstreamStatus: status,
      body,
      ...(Number.isFinite(retryAfter) ? { retryAfterSeconds: retryAfter } : {}),
    });
  }
  return { status, headers, body };
}

/** The error an unmocked `http` component gives under the test kit: tests never reach the network by accident. */
export function unmockedNetworkError(component: string, flow: string): FlowdError {
  return new FlowdError(
    'FLOWD_ERR_EGRESS_DENIED',
    `component "${component}" of flow "${flow}" calls the network and is not mocked: mock it with mockComponent("${component}", …) or load the flows with { allowNetwork: true }`,
  );
}
