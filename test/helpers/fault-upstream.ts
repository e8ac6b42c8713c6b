/**
 * A real, scriptable, fault-injecting HTTP upstream for tests: a node:http server on
 * 127.0.0.1, port 0 (the OS picks a free one). Point an `http` component at `upstream.url`
 * (and give the engine `egressAllow: ['127.0.0.1']`, or the service `EGRESS_ALLOW=127.0.0.1`).
 *
 *   const upstream = await startFaultUpstream();
 *   upstream.script('POST /charges', failTimes(2, { status: 503 }), { status: 201, body: { id: 'ch-1' } });
 *   upstream.script('GET /slow', { hang: true });
 *   upstream.script('/reservations/*', { status: 204 });          // any method, path prefix
 *   …run a flow…
 *   upstream.count('POST /charges');                              // 3
 *   upstream.calls('POST /charges')[1]?.headers['idempotency-key'];
 *   await upstream.waitForAbort('GET /slow');                      // the client gave up on the call
 *   upstream.maxConcurrency('GET /item');                          // most calls in flight at once
 *   upstream.reset();                                              // forget scripts and calls (beforeEach)
 *   await upstream.close();                                        // afterAll
 *
 * Routes: `"METHOD /path"` or `"/path"` (any method); a trailing `*` matches a path prefix.
 * The query string is ignored for matching. An exact route wins over a prefix route; an
 * unscripted request gets 404 `{ "error": "no script for METHOD /path" }` and is logged too.
 *
 * A script is a list of steps, one consumed per call; the LAST step repeats forever, so
 * `script(r, failTimes(2), ok(body))` fails twice then always succeeds. A step:
 *   { status, body, headers }   answer (default 200; a non-string body is sent as JSON;
 *                               `body: (call) => …` computes it from the request, e.g. echoes call.body)
 *   { retryAfter: 2 | 'Wed, …' } adds a Retry-After header
 *   { delayMs }                  waits before answering (a call the client aborts meanwhile is logged as 'aborted')
 *   { hang: true }               never answers; the call stays 'pending' until the client closes it ('aborted')
 *   { reset: true }              destroys the socket without answering (the client sees a connection reset)
 *   { drip: { chunks, intervalMs } } sends headers at once, then the body in `chunks` pieces `intervalMs` apart
 *
 * Every call is logged (`calls()`), with the headers received (idempotency-key, traceparent …),
 * the parsed body, its 1-based number on its route, timestamps (performance.now()) and its
 * outcome: 'pending' | 'answered' | 'aborted' | 'reset'.
 */
import { EventEmitter } from 'node:events';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface FaultStep {
  /** Status to answer with. Default 200. */
  status?: number;
  /**
   * Response body: strings are sent as text/plain, anything else as JSON. A function is called
   * with the call (its parsed request body, path, n …) and its result is sent.
   */
  body?: FaultBody;
  headers?: Record<string, string>;
  /** Sets `Retry-After` (delta-seconds or an HTTP date). */
  retryAfter?: number | string;
  /** Waits this long before answering (or resetting). */
  delayMs?: number;
  /** Never answers. */
  hang?: boolean;
  /** Destroys the connection instead of answering. */
  reset?: boolean;
  /** Sends the body slowly: headers at once, then `chunks` pieces (default 10) `intervalMs` apart. */
  drip?: { chunks?: number; intervalMs: number };
}

/** A JSON-able value, a string, or a function of the call that returns one. */
export type FaultBody = string | number | boolean | null | object | ((call: UpstreamCall) => unknown);

export type CallOutcome = 'pending' | 'answered' | 'aborted' | 'reset';

export interface UpstreamCall {
  /** The matched route key, or `(unscripted)`. */
  route: string;
  method: string;
  /** Path without the query string. */
  path: string;
  /** Path with the query string, as received. */
  url: string;
  headers: IncomingHttpHeaders;
  /** The request body: parsed JSON when it parses, else the text ('' when there was none). */
  body: unknown;
  /** 1-based number of this call on its route. */
  n: number;
  step: FaultStep;
  /** performance.now() when the request (with its body) had arrived. */
  receivedAt: number;
  /** performance.now() when the call ended (answered, aborted or reset). */
  endedAt?: number;
  outcome: CallOutcome;
}

export interface FaultUpstream {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  /** Sets (replaces) the script of a route. Steps and arrays of steps may be mixed. */
  script(route: string, ...steps: (FaultStep | readonly FaultStep[])[]): FaultUpstream;
  /** The calls received, all or those of one route (same key as given to `script`), in arrival order. */
  calls(route?: string): UpstreamCall[];
  count(route?: string): number;
  /** Most calls in flight at the same time, on one route or overall. */
  maxConcurrency(route?: string): number;
  /** Calls in flight now. */
  inFlight(route?: string): number;
  /** Resolves once `predicate()` holds (re-checked on every call event); rejects after `timeoutMs`. */
  waitFor(predicate: () => boolean, timeoutMs?: number, what?: string): Promise<void>;
  waitForCalls(route: string, n: number, timeoutMs?: number): Promise<UpstreamCall[]>;
  /** Resolves with the first call on `route` that the client aborted. */
  waitForAbort(route: string, timeoutMs?: number): Promise<UpstreamCall>;
  /** Forgets scripts, calls and concurrency counters. */
  reset(): void;
  close(): Promise<void>;
}

/** `n` copies of a failing step (default: 503). */
export function failTimes(n: number, step: FaultStep = { status: 503 }): FaultStep[] {
  return Array.from({ length: n }, () => ({ ...step }));
}

/** A successful JSON answer. */
export function ok(body: FaultBody = { ok: true }, status = 200): FaultStep {
  return { status, body };
}

interface RouteState {
  steps: FaultStep[];
  served: number;
}

const UNSCRIPTED = '(unscripted)';

export interface FaultUpstreamOptions {
  /** Port to listen on (127.0.0.1). Default 0: the OS picks a free one (tests). */
  port?: number;
  /** Called when a call ends (answered, aborted or reset): e.g. to print a log line. */
  onCallEnd?: (call: UpstreamCall) => void;
}

export async function startFaultUpstream(options: FaultUpstreamOptions = {}): Promise<FaultUpstream> {
  const routes = new Map<string, RouteState>();
  let log: UpstreamCall[] = [];
  const live = new Map<string, number>();
  const peak = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<Socket>();
  const events = new EventEmitter();
  events.setMaxListeners(0);
  const changed = (): void => {
    events.emit('change');
  };

  const match = (method: string, path: string): string | undefined => {
    for (const key of [`${method} ${path}`, path]) if (routes.has(key)) return key;
    let best: string | undefined;
    for (const key of routes.keys()) {
      if (!key.endsWith('*')) continue;
      const [m, p] = key.includes(' ') ? (key.split(' ', 2) as [string, string]) : [undefined, key];
      if (m !== undefined && m !== method) continue;
      if (path.startsWith(p.slice(0, -1)) && (best === undefined || key.length > best.length)) best = key;
    }
    return best;
  };

  const later = (ms: number, fn: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };

  const enter = (route: string): void => {
    for (const key of [route, '']) {
      const now = (live.get(key) ?? 0) + 1;
      live.set(key, now);
      peak.set(key, Math.max(peak.get(key) ?? 0, now));
    }
  };
  const leave = (route: string): void => {
    for (const key of [route, '']) live.set(key, Math.max(0, (live.get(key) ?? 0) - 1));
  };
  /** Bumped by reset(): calls from before a reset no longer touch the counters. */
  let epoch = 0;

  const serve = (req: IncomingMessage, res: ServerResponse, raw: string): void => {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const path = url.split('?')[0] ?? '/';
    const route = match(method, path) ?? UNSCRIPTED;
    const state = routes.get(route);
    const step: FaultStep = state === undefined ? { status: 404, body: { error: `no script for ${method} ${path}` } } : state.steps[Math.min(state.served, state.steps.length - 1)]!;
    if (state !== undefined) state.served += 1;
    let body: unknown = raw;
    if (raw !== '') {
      try {
        body = JSON.parse(raw) as unknown;
      } catch {
        body = raw;
      }
    }
    const call: UpstreamCall = {
      route,
      method,
      path,
      url,
      headers: req.headers,
      body,
      n: log.filter((c) => c.route === route).length + 1,
      step,
      receivedAt: performance.now(),
      outcome: 'pending',
    };
    log.push(call);
    enter(route);
    const callEpoch = epoch;
    let ended = false;
    const end = (outcome: CallOutcome): void => {
      if (ended) return;
      ended = true;
      call.outcome = outcome;
      call.endedAt = performance.now();
      if (callEpoch === epoch) leave(route);
      changed();
      options.onCallEnd?.(call);
    };
    res.on('close', () => end(res.writableFinished ? 'answered' : 'aborted'));
    changed();

    const answer = (): void => {
      if (ended || res.destroyed) return;
      if (step.reset === true) {
        end('reset');
        req.socket.destroy();
        return;
      }
      if (step.hang === true) return;
      const status = step.status ?? 200;
      const payload: unknown = typeof step.body === 'function' ? (step.body as (c: UpstreamCall) => unknown)(call) : step.body;
      const text = payload === undefined ? '' : typeof payload === 'string' ? payload : JSON.stringify(payload);
      const headers: Record<string, string> = {
        'content-type': typeof payload === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
        ...step.headers,
      };
      if (step.retryAfter !== undefined) headers['retry-after'] = String(step.retryAfter);
      if (step.drip === undefined) {
        headers['content-length'] = String(Buffer.byteLength(text));
        res.writeHead(status, headers);
        res.end(text);
        return;
      }
      const pieces = Math.max(1, step.drip.chunks ?? 10);
      const size = Math.ceil(text.length / pieces) || 1;
      res.writeHead(status, headers);
      res.flushHeaders();
      let offset = 0;
      const tick = (): void => {
        if (ended || res.destroyed) return;
        const piece = text.slice(offset, offset + size);
        offset += size;
        if (offset >= text.length) {
          res.end(piece);
          return;
        }
        res.write(piece);
        later(step.drip!.intervalMs, tick);
      };
      later(step.drip.intervalMs, tick);
    };
    if (step.delayMs !== undefined && step.delayMs > 0) later(step.delayMs, answer);
    else answer();
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => serve(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  const select = (route?: string): UpstreamCall[] => (route === undefined ? [...log] : log.filter((c) => c.route === route));

  const upstream: FaultUpstream = {
    url: `http://127.0.0.1:${port}`,
    port,
    script(route, ...steps) {
      const flat: FaultStep[] = steps.flat();
      if (flat.length === 0) throw new Error(`script for ${route} needs at least one step`);
      routes.set(route, { steps: flat, served: 0 });
      return upstream;
    },
    calls: select,
    count: (route) => select(route).length,
    maxConcurrency: (route) => peak.get(route ?? '') ?? 0,
    inFlight: (route) => live.get(route ?? '') ?? 0,
    waitFor(predicate, timeoutMs = 5_000, what = 'condition') {
      if (predicate()) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (!predicate()) return;
          cleanup();
          resolve();
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`fault upstream: timed out after ${timeoutMs} ms waiting for ${what}`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          events.off('change', check);
        };
        events.on('change', check);
      });
    },
    async waitForCalls(route, n, timeoutMs) {
      await upstream.waitFor(() => select(route).length >= n, timeoutMs, `${n} calls on ${route}`);
      return select(route);
    },
    async waitForAbort(route, timeoutMs) {
      await upstream.waitFor(() => select(route).some((c) => c.outcome === 'aborted'), timeoutMs, `an aborted call on ${route}`);
      return select(route).find((c) => c.outcome === 'aborted')!;
    },
    reset() {
      epoch += 1;
      routes.clear();
      log = [];
      live.clear();
      peak.clear();
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return upstream;
}
