import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { formatPath } from '../flows/compiler.js';
import { plainZodIssues } from '../flows/zod-words.js';
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

/**
 * A route schema's validation errors in plain words (`querystring.limit must be at most 200
 * (found the number 500)`). The route schemas are zod: their issues are rebuilt from Fastify's
 * validation entries and worded like the flow-file problems.
 */
function validationIssues(validation: NonNullable<FastifyError['validation']>, where: string, request: FastifyRequest): { path: string; message: string }[] {
  const part = where === 'querystring' ? 'query' : where;
  const data = (request as unknown as Record<string, unknown>)[part];
  const schema = (request.routeOptions.schema as Record<string, unknown> | undefined)?.[where];
  if (!(schema instanceof z.ZodType)) {
    return validation.map((issue) => ({ path: `${where}${issue.instancePath.replaceAll('/', '.')}`, message: issue.message ?? 'is invalid' }));
  }
  const issues = validation.map(
    (issue) =>
      ({ ...issue.params, code: issue.keyword, message: issue.message ?? '', path: issue.instancePath.split('/').slice(1).filter((key) => key !== '') }) as unknown as z.core.$ZodIssue,
  );
  return plainZodIssues(issues, data, schema).map((issue) => ({ path: formatPath([where, ...issue.path]), message: issue.message }));
}

/** 413 and 415 say what to do: the limit to stay under, the content type to send. */
function clientErrorDetail(code: Problem['code'], request: FastifyRequest): string | undefined {
  if (code === 'FLOWD_ERR_UNSUPPORTED_MEDIA_TYPE') {
    const sent = request.headers['content-type'];
    return `the request body must be JSON: send it with Content-Type: application/json (this request sent ${sent === undefined ? 'no Content-Type' : `Content-Type: ${sent}`})`;
  }
  if (code === 'FLOWD_ERR_PAYLOAD_TOO_LARGE') {
    return `the request body is larger than ${request.routeOptions.bodyLimit} bytes, the limit of this service (BODY_LIMIT_BYTES); send a smaller body`;
  }
  return undefined;
}

/** Refusals at a bound (in-flight executions, queues, shutting down): logged as warnings, not errors. */
const SHEDDING: ReadonlySet<string> = new Set(['FLOWD_ERR_OVERLOADED', 'FLOWD_ERR_QUEUE_FULL', 'FLOWD_ERR_SHUTTING_DOWN']);

/** Turns every error and every unknown route into `application/problem+json`. */
export function registerErrorHandling(app: FastifyInstance, routes: { allowedMethods(path: string): string[] }): void {
  app.setErrorHandler((error: FastifyError | FlowdError | Error, request, reply) => {
    const instance = request.id;
    if (error instanceof FlowdError) {
      // Load shedding is the service working as designed: a warning without a stack (a burst made hundreds of error lines).
      if (SHEDDING.has(error.code)) request.log.warn({ code: error.code, reason: error.message }, 'request refused: the service is at a bound');
      else if (error.status >= 500) request.log.error({ err: error }, 'request failed');
      return sendProblem(reply, problemFromError(error, instance), retryAfterFor(error));
    }
    const fastifyError = error as FastifyError;
    if (Array.isArray(fastifyError.validation)) {
      const where = fastifyError.validationContext ?? 'body';
      const issues = validationIssues(fastifyError.validation, where, request);
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
    const detail = error instanceof SyntaxError ? `malformed JSON body: ${error.message}` : (clientErrorDetail(code, request) ?? error.message);
    const retryAfter = reply.getHeader('retry-after');
    return sendProblem(reply, { ...problem(code, detail, { instance }), status }, retryAfter === undefined ? undefined : Number(retryAfter));
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    const allowed = routes.allowedMethods(path);
    if (allowed.length > 0) {
      void reply.header('allow', allowed.join(', '));
      return sendProblem(reply, problem('FLOWD_ERR_METHOD_NOT_ALLOWED', `${path} does not answer ${request.method}; it answers ${allowed.join(', ')}`, { instance: request.id }));
    }
    return sendProblem(reply, problem('FLOWD_ERR_NOT_FOUND', `no route ${request.method} ${path}`, { instance: request.id }));
  });
}
