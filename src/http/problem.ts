import type { FastifyReply } from 'fastify';
import {
  CircuitOpenError,
  ComponentError,
  ERROR_CODES,
  FlowdError,
  InputValidationError,
  problemTypeFor,
  type ErrorCode,
} from '../errors.js';
import type { ExecutionRecord } from '../engine/record.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

/** RFC 9457 problem details with flowd's stable `code` and optional extension members. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  instance?: string | undefined;
  issues?: readonly { path: string; message: string }[] | undefined;
  execution?: ExecutionRecord | undefined;
  [extension: string]: unknown;
}

export function problem(code: ErrorCode, detail: string, extra: Partial<Problem> = {}): Problem {
  const entry = ERROR_CODES[code];
  return { type: problemTypeFor(code), title: entry.title, status: entry.status, detail, code, ...extra };
}

/**
 * The one place errors become HTTP. Below 500 the message is passed through (it was written for
 * callers); 500 gets a generic message and the real error is logged by the caller.
 */
export function problemFromError(error: unknown, instance?: string): Problem {
  if (error instanceof FlowdError) {
    const status = error.status;
    const detail = status >= 500 && error.code === 'FLOWD_ERR_INTERNAL' ? 'internal error' : error.message;
    return problem(error.code, detail, {
      instance,
      ...(error instanceof InputValidationError ? { issues: error.issues } : {}),
    });
  }
  return problem('FLOWD_ERR_INTERNAL', 'internal error', { instance });
}

/** Status for a finished execution that did not succeed (and was not recovered). */
export function statusForRecord(record: ExecutionRecord): number {
  const code = record.error?.code;
  if (code === undefined) return 500;
  return ERROR_CODES[code].status;
}

export function problemForRecord(record: ExecutionRecord, instance?: string): Problem {
  const error = record.error;
  const code: ErrorCode = error?.code ?? 'FLOWD_ERR_INTERNAL';
  const where = error?.phase === undefined ? '' : ` in phase "${error.phase}"`;
  return problem(code, `flow "${record.flow}" ${record.status}${where}: ${error?.message ?? 'no error recorded'}`, {
    instance,
    execution: record,
  });
}

export function retryAfterFor(error: unknown): number | undefined {
  if (error instanceof CircuitOpenError) return error.retryAfterSeconds;
  if (error instanceof ComponentError) return error.retryAfterSeconds;
  const seconds = error instanceof FlowdError ? error.details?.['retryAfterSeconds'] : undefined;
  return typeof seconds === 'number' ? seconds : undefined;
}

export function sendProblem(reply: FastifyReply, body: Problem, retryAfterSeconds?: number): FastifyReply {
  if (retryAfterSeconds !== undefined) void reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfterSeconds))));
  return reply.code(body.status).type(PROBLEM_CONTENT_TYPE).send(body);
}
