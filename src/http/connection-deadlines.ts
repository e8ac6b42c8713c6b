import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { answerAndClose } from './client-error.js';

export interface ConnectionLimits {
  /** HEADERS_TIMEOUT_MS: a new connection must have sent its first request's headers within this. */
  readonly headersTimeoutMs: number;
  /** REQUEST_TIMEOUT_MS: a request's body must have arrived within this of its headers. */
  readonly requestTimeoutMs: number;
  /** MAX_CONNECTIONS: open connections; Node closes any connection past it at once. */
  readonly maxConnections: number;
}

/** One deadline per connection, and what it guards. */
interface Deadline {
  timer: NodeJS.Timeout;
  /** Undefined until the first request's headers arrived (the headers deadline runs). */
  request: IncomingMessage | undefined;
  response: ServerResponse | undefined;
}

/**
 * Bounds idle and slow connections with one timer per connection that fires at the configured
 * time. Node's own headersTimeout / requestTimeout are checked only every
 * connectionsCheckingInterval, so a deadline fired anywhere up to a whole interval late, and a
 * slow-loris client held its connection that much longer. Here:
 *   - a connection that has not sent complete request headers HEADERS_TIMEOUT_MS after it opened
 *     (an idle one included) gets 408 FLOWD_ERR_REQUEST_TIMEOUT and is closed;
 *   - a request whose body has not fully arrived REQUEST_TIMEOUT_MS after its headers did gets
 *     the same (unless an answer was already sent without reading it);
 *   - at most MAX_CONNECTIONS connections are open (`server.maxConnections`).
 * Node's own checks stay on as a backstop for what JavaScript cannot see: the headers of a later
 * request on a kept-alive connection. An idle kept-alive connection ends after keepAliveTimeout.
 * Per request this costs one `timer.refresh()`.
 */
export function boundConnections(server: Server, limits: ConnectionLimits): void {
  server.maxConnections = limits.maxConnections;
  const deadlines = new WeakMap<Socket, Deadline>();

  server.on('connection', (socket: Socket) => {
    const deadline: Deadline = {
      request: undefined,
      response: undefined,
      timer: setTimeout(() => {
        if (!socket.destroyed) answerAndClose(socket, 'FLOWD_ERR_REQUEST_TIMEOUT', 408, 'the request headers were not received within HEADERS_TIMEOUT_MS');
      }, limits.headersTimeoutMs),
    };
    deadlines.set(socket, deadline);
    socket.once('close', () => clearTimeout(deadline.timer));
  });

  const bodyOverdue = (socket: Socket, deadline: Deadline): void => {
    const { request, response } = deadline;
    if (socket.destroyed || request === undefined || request.complete || response?.headersSent === true) return;
    answerAndClose(socket, 'FLOWD_ERR_REQUEST_TIMEOUT', 408, 'the request body was not received within REQUEST_TIMEOUT_MS');
  };

  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const socket = request.socket;
    const deadline = deadlines.get(socket);
    if (deadline === undefined) return;
    if (deadline.request === undefined) {
      // Headers arrived: from now on the deadline is the body's, restarted by every request.
      clearTimeout(deadline.timer);
      deadline.timer = setTimeout(() => bodyOverdue(socket, deadline), limits.requestTimeoutMs);
    } else {
      deadline.timer.refresh();
    }
    deadline.request = request;
    deadline.response = response;
  });
}
