import type { z } from 'zod';
import type { FlowLogger } from '../engine/logger.js';

/**
 * What an adapter receives with every call: cancellation, a logger with bindings, and where it runs.
 * `signal` and `logger` are made when first read (getters): pass the context itself, or read them,
 * rather than copying it with `{ ...ctx }`.
 */
export interface AdapterContext {
  /** Aborted when the attempt times out, the phase or flow deadline passes, or the execution is cancelled. */
  readonly signal: AbortSignal;
  readonly logger: FlowLogger;
  /** 1 for the first attempt. */
  readonly attempt: number;
  readonly executionId: string;
  readonly flow: string;
  readonly phase: string;
  readonly component: string;
  /** Stable across retries and resumes of the same phase (and map item), so upstreams can de-duplicate. */
  readonly idempotencyKey: string;
  /**
   * The W3C `traceparent` this attempt's outgoing calls carry (http headers, message headers): the
   * attempt's span when tracing is on, else a new child of the caller's; undefined without either.
   */
  readonly traceparent?: string | undefined;
  /**
   * Describes the request as actually sent, for the execution journal (an http method, URL and
   * headers; a SQL statement and its parameters; a message's subject and headers). Without it the
   * journal shows the evaluated request. Secrets and sensitive fields are masked by the journal;
   * values are size-capped there too. Call it once per attempt, before or after sending.
   */
  readonly sent?: ((request: Record<string, unknown>) => void) | undefined;
}

/** A problem with a phase's request template, found at load (path relative to the request). */
export interface RequestIssue {
  readonly path: readonly string[];
  readonly message: string;
}

/** A configured instance of an adapter: one per component in a flow file. */
export interface Component {
  execute(request: unknown, ctx: AdapterContext): Promise<unknown>;
  /**
   * Checks a phase's request as written in the flow file (expressions still as `{% … %}` text),
   * at load: e.g. a sql request names a declared statement and binds exactly its parameters.
   * Every issue fails the load with the phase's path.
   */
  checkRequest?(template: unknown): readonly RequestIssue[];
  /** Resolves when the component can serve calls (a pool can connect); `/health/ready` asks required components. */
  ready?(): Promise<void>;
  /**
   * Releases pooled resources (connections): at shutdown, and while the process runs when its flow
   * definition is no longer in use (a reload retired it and no execution runs on it). Never called
   * under a running call. The component may be called again afterwards (an execution pinned to the
   * retired definition): it then opens its connections again.
   */
  close?(): Promise<void>;
  /** Non-secret facts for documents and `GET /flows/{name}`, e.g. `{ target: 'https://payments.example' }`. */
  describe?(): Record<string, unknown>;
}

export interface ComponentInit {
  /** The component's name in its flow file. */
  readonly name: string;
  readonly flow: string;
}

/**
 * The adapter contract: a kind, a zod schema for its component config, and a factory.
 * The config schema is applied at load to every component of this kind (policy keys such as
 * `retry_policy` are removed first), so a bad key fails the load with file and path.
 */
export interface ComponentAdapter<Config = unknown> {
  readonly kind: string;
  readonly configSchema: z.ZodType<Config>;
  /** Optional schema for the evaluated request, checked before each call. */
  readonly requestSchema?: z.ZodType<unknown>;
  /** Pure adapters (no side effects) need no declaration: a phase may name them as its component. */
  readonly implicit?: boolean;
  /**
   * Pure adapters (no I/O, cannot fail transiently, return at once) are called directly:
   * no retry loop, no per-attempt timer, no breaker or bulkhead. Only for adapters like `transform`.
   */
  readonly pure?: boolean;
  create(config: Config, init: ComponentInit): Component;
}
