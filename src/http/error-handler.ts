import type { FastifyError, FastifyInstance } from 'fastify';
import { FlowdError } from '../errors.js';
import { problem, problemFromError, retryAfterFor, sendProblem, type Problem } from './problem.js';

/** Fastify's own error codes that have a better flowd code than "invalid request". */
const FASTIFY_CODES: Record<string, Problem['code']> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'FLOWD_ERR_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_BODY_TOO_LARGE: 'FLOWD_ERR_PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'FLOWD_ERR_REQUEST_INVALID',
  FST_ERR_CTP_INVALID_JSON_BODY: 'FLOWD_ERR_REQUEST_INVALID',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'FLOWD_ERR_REQUEST_INVALID',
  FST_ERR_BAD_URL: 'FLOWD_ERR_REQUEST_INVALID',
  FST_ERR_NOT_FOUND: 'FLOWD_ERR_NOT_FOUND',
};

const STATUS_CODES: Record<number, Problem['code']> = {
  401: 'FLOWD_ERR_UNAUTHENTICATED',
  403: 'FLOWD_ERR_FORBIDDEN',
  404: 'FLOWD_ERR_NOT_FOUND',
  405: 'FLOWD_ERR_METHOD_NOT_ALLOWED',
  406: 'FLOWD_ERR_NOT_ACCEPTABLE',
  413: 'FLOWD_ERR_PAYLOAD_TOO_LARGE',
  415: 'FLOWD_ERR_UNSUPPORTED_MEDIA_TYPE',
  429: 'FLOWD_ERR_RATE_LIMITED',
  503: 'FLOWD_ERR_OVERLOADED',
};

/** Turns every error and every unknown route into `application/problem+json`. */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | FlowdError | Error, request, reply) => {
    const instance = request.id;
    if (error instanceof FlowdError) {
      if (error.status >= 500) request.log.error({ err: error }, 'request failed');
      return sendProblem(reply, problemFromError(error, instance), retryAfterFor(error));
    }
    const fastifyError = error as FastifyError;
    if (Array.isArray(fastifyError.validation)) {
      const where = fastifyError.validationContext ?? 'body';
      const issues = fastifyError.validation.map((issue) => ({
        path: `${where}${issue.instancePath.replaceAll('/', '.').replace(/\.(\d+)(?=\.|$)/g, '[$1]')}`,
        message: issue.message ?? 'is invalid',
      }));
      return sendProblem(
        reply,
        problem('FLOWD_ERR_REQUEST_INVALID', `invalid ${where}: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`, { instance, issues }),
      );
    }
    const status = fastifyError.statusCode ?? 500;
    if (status >= 500) {
      request.log.error({ err: error }, 'unhandled error');
      return sendProblem(reply, problem('FLOWD_ERR_INTERNAL', 'internal error', { instance }));
    }
    const code = FASTIFY_CODES[fastifyError.code] ?? STATUS_CODES[status] ?? 'FLOWD_ERR_REQUEST_INVALID';
    const detail = error instanceof SyntaxError ? `malformed JSON body: ${error.message}` : error.message;
    const retryAfter = reply.getHeader('retry-after');
    return sendProblem(reply, { ...problem(code, detail, { instance }), status }, retryAfter === undefined ? undefined : Number(retryAfter));
  });

  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, problem('FLOWD_ERR_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`, { instance: request.id })),
  );
}
