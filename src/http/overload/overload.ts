import rateLimit from '@fastify/rate-limit';
import underPressure from '@fastify/under-pressure';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PROBLEM_CONTENT_TYPE, problem, sendProblem, type Problem } from '../problem.js';

/** Seconds a shed caller is told to wait (event-loop pressure, in-flight bound). */
export const OVERLOAD_RETRY_AFTER_SECONDS = 2;
export const INFLIGHT_RETRY_AFTER_SECONDS = 1;

/** A callback-style onRequest hook: calls `done`, or answers and does not. */
type OnRequest = (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) => void;

/**
 * Event-loop-pressure shedding with @fastify/under-pressure: while the mean event-loop delay of
 * the last sample is above `maxEventLoopDelayMs`, requests get 503 FLOWD_ERR_OVERLOADED with
 * Retry-After instead of queueing behind a stalled loop. `exempt` requests (liveness) always pass,
 * so an orchestrator does not kill a process that is only busy.
 *
 * Registered on the root instance, outside the zod-typed plugin, and without its status route:
 * no route of its own means no JSON-Schema response schema for the zod compilers to choke on.
 */
export async function registerLoadShedding(
  app: FastifyInstance,
  options: { maxEventLoopDelayMs: number; exempt: (request: FastifyRequest) => boolean },
): Promise<void> {
  if (options.maxEventLoopDelayMs <= 0) return;
  await app.register(underPressure, {
    maxEventLoopDelay: options.maxEventLoopDelayMs,
    // Sample at least as often as the threshold, so a stall is seen within about one threshold.
    sampleInterval: Math.min(1000, Math.max(10, options.maxEventLoopDelayMs)),
    retryAfter: OVERLOAD_RETRY_AFTER_SECONDS,
    exposeStatusRoute: false,
    // Returning a body makes under-pressure send it; returning undefined lets the request through.
    pressureHandler: ((request: FastifyRequest, reply: FastifyReply, type: string, value: number | undefined) => {
      if (options.exempt(request)) return undefined;
      void reply.code(503).type(PROBLEM_CONTENT_TYPE).header('retry-after', String(OVERLOAD_RETRY_AFTER_SECONDS));
      const what = type === 'eventLoopDelay' ? `event-loop delay ${Math.round(value ?? 0)} ms is above MAX_EVENT_LOOP_DELAY_MS (${options.maxEventLoopDelayMs})` : `${type} is over its limit`;
      return problem('FLOWD_ERR_OVERLOADED', `the service is overloaded (${what}); retry later`, { instance: request.id });
    }) as unknown as (request: FastifyRequest, reply: FastifyReply, type: string, value: number | undefined) => void,
  });
}

/**
 * Per-caller rate limiting with @fastify/rate-limit: `perMinute` requests per key (its name) or,
 * for requests without a valid key, per client IP. Over the limit → 429 FLOWD_ERR_RATE_LIMITED
 * with Retry-After. Returns an onRequest hook, to be added after authentication (it needs the
 * key) and before authorisation (so failed attempts count too). 0 disables it.
 */
export async function createRateLimitHook(
  app: FastifyInstance,
  options: { perMinute: number; keyFor: (request: FastifyRequest) => string; exempt: (request: FastifyRequest) => boolean },
): Promise<OnRequest | undefined> {
  if (options.perMinute <= 0) return undefined;
  await app.register(rateLimit, { global: false, max: options.perMinute, timeWindow: 60_000, keyGenerator: options.keyFor });
  const check = app.createRateLimit();
  return (request, reply, done) => {
    if (options.exempt(request)) return done();
    check(request)
      .then((limit) => {
        if (limit.isAllowed) return done();
        void reply.header('x-ratelimit-limit', String(limit.max));
        void reply.header('x-ratelimit-remaining', String(limit.remaining));
        void reply.header('x-ratelimit-reset', String(limit.ttlInSeconds));
        if (!limit.isExceeded) return done();
        const who = limit.key.startsWith('key:') ? `API key "${limit.key.slice(4)}"` : 'this client address';
        sendProblem(
          reply,
          problem('FLOWD_ERR_RATE_LIMITED', `rate limit of ${limit.max} requests per minute exceeded for ${who}; retry in ${limit.ttlInSeconds} s`, { instance: request.id }),
          Math.max(1, limit.ttlInSeconds),
        );
      })
      .catch(done);
  };
}

/**
 * The in-flight bound (MAX_INFLIGHT_EXECUTIONS): a problem when `active` executions already run,
 * so a burst is refused with 503 + Retry-After instead of queueing without bound.
 */
export function inflightProblem(active: number, max: number, instance: string): Problem | undefined {
  if (active < max) return undefined;
  return problem(
    'FLOWD_ERR_OVERLOADED',
    `${active} executions are in flight, the limit (MAX_INFLIGHT_EXECUTIONS) is ${max}; retry in ${INFLIGHT_RETRY_AFTER_SECONDS} s`,
    { instance },
  );
}
