import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { ErrorCode } from '../errors.js';
import { PROBLEM_CONTENT_TYPE, problem } from './problem.js';

/**
 * Answers errors Node's HTTP parser raises before Fastify sees a request — headers over
 * MAX_HEADER_BYTES (431), a request not received within REQUEST_TIMEOUT_MS (408), malformed
 * HTTP (400) — as problem+json like every other error, then closes the connection.
 */
export function problemClientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  let code: ErrorCode;
  let status: number;
  let detail: string;
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    [code, status, detail] = ['FLOWD_ERR_REQUEST_TIMEOUT', 408, 'the request was not received completely within REQUEST_TIMEOUT_MS'];
  } else if (error.code === 'HPE_HEADER_OVERFLOW') {
    [code, status, detail] = ['FLOWD_ERR_HEADERS_TOO_LARGE', 431, 'the request headers are larger than MAX_HEADER_BYTES'];
  } else {
    [code, status, detail] = ['FLOWD_ERR_REQUEST_INVALID', 400, 'malformed HTTP request'];
  }
  answerAndClose(socket, code, status, detail, error);
}

/** Writes a problem+json answer straight to the socket (no request object exists, or none can answer) and closes it. */
export function answerAndClose(socket: Socket, code: ErrorCode, status: number, detail: string, error?: Error): void {
  const body = JSON.stringify({ ...problem(code, detail), status });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}
