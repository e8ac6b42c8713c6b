import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { problem, sendProblem } from './problem.js';

/** A callback-style onRequest hook: calls `done`, or answers and does not. */
export type OnRequestHook = (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) => void;

/** Runs callback-style hooks in order, as Fastify does; one that answers ends the chain. */
export function chainHooks(hooks: readonly OnRequestHook[]): OnRequestHook {
  return (request, reply, done) => {
    const next = (index: number, error?: Error): void => {
      if (error !== undefined) return done(error);
      const hook = hooks[index];
      if (hook === undefined) return done();
      hook(request, reply, (hookError) => next(index + 1, hookError));
    };
    next(0);
  };
}

/**
 * Fastify's `frameworkErrors`: errors its router raises before any route or hook runs — a path
 * parameter over `maxParamLength` (414), malformed percent-encoding in the path (400). Left to
 * Fastify they are plain JSON, skip authentication and the rate limit, and a 414 for
 * `/flows/<long>` next to a 401 for `/nope/<long>` tells an anonymous caller which routes exist.
 * Here they pass the guards an unmatched route passes (`admission()`: authentication, rate limit,
 * authorisation; anonymous → 401 like any unknown route), then get a problem+json answer. The
 * path is not echoed back.
 */
export function createRouterErrorHandler(admission: () => OnRequestHook | undefined): (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => void {
  return (error, request, reply) => {
    void reply.header('x-request-id', request.id);
    const answer = (): void => {
      const tooLong = error.code === 'FST_ERR_MAX_PARAM_LENGTH';
      void sendProblem(
        reply,
        tooLong
          ? problem('FLOWD_ERR_URI_TOO_LONG', 'a segment of the URL path is longer than any route accepts', { instance: request.id })
          : problem('FLOWD_ERR_REQUEST_INVALID', 'the URL path holds malformed percent-encoding', { instance: request.id }),
      );
    };
    const admit = admission();
    if (admit === undefined) return answer();
    admit(request, reply, (hookError) => {
      if (hookError === undefined) return answer();
      request.log.error({ err: hookError }, 'guard failed on a router error');
      void sendProblem(reply, problem('FLOWD_ERR_INTERNAL', 'internal error', { instance: request.id }));
    });
  };
}
