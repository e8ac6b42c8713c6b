import { FlowdError, FlowNotFoundError, InputValidationError } from '../errors.js';
import type { CompiledFlow } from '../flows/compiled.js';
import { closeComponents, DefinitionUse } from '../flows/definition-use.js';
import { FlowCatalog } from '../flows/flow-catalog.js';
import type { JournalEntry } from './journal/entries.js';
import { captureFor, DEFAULT_CAPTURE, Journal, type CaptureLimits, type JournalSink } from './journal/journal.js';
import { Execution } from './run/execution.js';
import type { OutputLimits } from './run/output-limits.js';
import { newExecutionId } from './ids.js';
import { silentLogger, type FlowLogger } from './logger.js';
import { MiddlewareChain, type Middleware } from './middleware.js';
import { createMemoryPhaseCache, type PhaseCache } from './phase-cache.js';
import type { ExecutionRecord } from './record.js';
import { FlowTransaction, type TransactionOptions } from './transaction.js';
import type { AttemptTraceSource } from './trace-context.js';
import {
  systemClock,
  type ChildExecuteOptions,
  type Clock,
  type EngineRuntime,
  type ExecuteOptions,
  type ExecutionObserver,
  type FindSucceeded,
  type TriggerParent,
} from './runtime.js';

export const DEFAULT_MAX_SUBFLOW_DEPTH = 8;
export const DEFAULT_MAX_MAP_ITEMS = 10_000;
/** Triggered flows run in the background at once by the default `startTriggered` (library use). */
export const DEFAULT_MAX_BACKGROUND_TRIGGERS = 1000;
export const DEFAULT_WAIT_INLINE_MS = 5000;

export interface FlowEngineOptions {
  /** The flows by name, or a catalog (versions side by side, reloads). */
  readonly flows: ReadonlyMap<string, CompiledFlow> | FlowCatalog;
  readonly middleware?: readonly Middleware[];
  readonly cache?: PhaseCache;
  readonly logger?: FlowLogger;
  readonly clock?: Clock;
  readonly random?: () => number;
  readonly newId?: () => string;
  readonly observer?: ExecutionObserver;
  readonly maxSubflowDepth?: number;
  readonly maxMapItems?: number;
  /** What executions capture of their calls (a flow's `capture` key overrides the policy). Default: all, 64 KiB, 500 log lines. */
  readonly capture?: Partial<CaptureLimits>;
  /** Told of every journal entry of every execution (metrics, the process log). Must not throw. */
  readonly journalSinks?: readonly JournalSink[];
  /** Gives each call attempt its outgoing traceparent (the service's tracing). Default: a child of the caller's. */
  readonly traceSource?: AttemptTraceSource;
  /** Bounds on what phases produce (a phase past them fails with FLOWD_ERR_LIMIT_EXCEEDED). Default: none. */
  readonly outputLimits?: OutputLimits;
  /**
   * Starts a dependent flow without waiting for it and returns its execution id.
   * Default: runs it in this process in the background, at most `maxBackgroundTriggers` at once.
   */
  readonly startTriggered?: (flow: string, input: unknown, parent: TriggerParent) => Promise<string | undefined>;
  /**
   * Triggered flows the default `startTriggered` runs at once in this process; one more is not
   * started (FLOWD_ERR_OVERLOADED in its parent's `triggersRefused`). Default 1000.
   */
  readonly maxBackgroundTriggers?: number;
  /**
   * Finds a recent succeeded execution, for `depends_on` entries with `within_ms` (the execution
   * store provides it). Without it such a dependency fails with FLOWD_ERR_DEPENDENCY_NOT_MET.
   */
  readonly findSucceeded?: FindSucceeded;
  /** Waits up to this long sleep in the run; longer ones suspend a durable run (docs/waits.md). Default 5 s. */
  readonly waitInlineMs?: number;
  /** Makes a callback phase's `callback.url` from its token (the service: PUBLIC_URL + /callbacks/{token}). */
  readonly callbackUrl?: (token: string) => string;
  /** Runs last in `close()`, e.g. to close a shared connection pool. */
  readonly onClose?: () => Promise<void>;
}

/** An execution that started: its id at once, its record when it ends, its journal as it goes. */
export interface StartedExecution {
  readonly executionId: string;
  readonly done: Promise<ExecutionRecord>;
  readonly journal: Journal;
}

export { FlowNotFoundError };

/**
 * Runs compiled flows in-process. `execute` never throws for a flow that fails: the failure is
 * in the returned record. It throws only when there is nothing to run (unknown flow, invalid input).
 */
export class FlowEngine {
  readonly #catalog: FlowCatalog;
  /** Which definitions run here: a retired one's components are closed when none of its executions runs. */
  readonly #use: DefinitionUse;
  readonly #runtime: EngineRuntime;
  readonly #running = new Map<string, Execution>();
  readonly #background = new Set<Promise<unknown>>();
  readonly #chain: MiddlewareChain;
  readonly #onClose: (() => Promise<void>) | undefined;
  readonly #maxBackground: number;

  constructor(options: FlowEngineOptions) {
    this.#catalog = options.flows instanceof FlowCatalog ? options.flows : new FlowCatalog(options.flows.values());
    this.#use = new DefinitionUse(this.#catalog);
    this.#onClose = options.onClose;
    this.#maxBackground = options.maxBackgroundTriggers ?? DEFAULT_MAX_BACKGROUND_TRIGGERS;
    this.#chain = new MiddlewareChain(options.middleware ?? [], options.logger ?? silentLogger);
    const clock = options.clock ?? systemClock;
    this.#runtime = {
      chain: this.#chain,
      // An injected clock also drives the default cache's TTLs (tests expire entries without waiting).
      cache: options.cache ?? createMemoryPhaseCache(options.clock === undefined ? {} : { now: () => clock.now() }),
      clock,
      random: options.random ?? Math.random,
      newId: options.newId ?? (() => newExecutionId(clock.now())),
      logger: options.logger ?? silentLogger,
      observer: options.observer,
      capture: { ...DEFAULT_CAPTURE, ...options.capture },
      sinks: options.journalSinks ?? [],
      trace: options.traceSource,
      outputLimits: options.outputLimits,
      maxSubflowDepth: options.maxSubflowDepth ?? DEFAULT_MAX_SUBFLOW_DEPTH,
      maxMapItems: options.maxMapItems ?? DEFAULT_MAX_MAP_ITEMS,
      waitInlineMs: options.waitInlineMs ?? DEFAULT_WAIT_INLINE_MS,
      callbackUrl: options.callbackUrl,
      runChild: (flow, input, childOptions) => this.#runChild(flow, input, childOptions),
      startTriggered: options.startTriggered ?? ((flow, input, parent) => this.#startInBackground(flow, input, parent)),
      findSucceeded: options.findSucceeded,
      hold: (flow) => this.#use.hold(flow),
    };
    this.#watchCircuits(this.#catalog.loaded());
    this.#catalog.onSwap((swap) => this.#watchCircuits(swap.added));
  }

  /** Validates the input and runs the flow (its current version) to a terminal state. */
  async execute(name: string, input: unknown, options: ExecuteOptions = {}): Promise<ExecutionRecord> {
    return this.start(name, input, options).done;
  }

  /**
   * Validates the input and starts the flow — the current version of the flow named, or the
   * definition given (a version chosen by the caller, the one a stored execution is pinned to);
   * returns its id at once and a promise of the record. Throws FlowNotFoundError or
   * InputValidationError synchronously, before anything runs.
   */
  start(named: string | CompiledFlow, input: unknown, options: ChildExecuteOptions = {}): StartedExecution {
    const flow = typeof named === 'string' ? this.getFlow(named) : named;
    if (flow === undefined) throw new FlowNotFoundError(named as string);
    const name = flow.name;
    const issues = flow.validateInput(input);
    if (issues !== undefined) {
      throw new InputValidationError(`input does not match the schema of flow "${name}": ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`, issues);
    }
    const execution = new Execution(this.#runtime, flow, input, options);
    const id = execution.executionId;
    this.#running.set(id, execution);
    const release = this.#use.hold(flow);
    const done = execution.run().finally(() => {
      this.#running.delete(id);
      release();
    });
    return { executionId: id, done, journal: execution.journal };
  }

  /**
   * Starts a transaction on a flow: its top-level phases run one at a time under the caller's
   * control, then `commit()` or `rollback()` (compensations newest first). See FlowTransaction.
   */
  transaction(name: string, options: TransactionOptions = {}): FlowTransaction {
    const flow = this.getFlow(name);
    if (flow === undefined) throw new FlowNotFoundError(name);
    return new FlowTransaction(this.#runtime, flow, options);
  }

  /**
   * A journal for an execution of `flow` that the caller writes first (the durable layer queues
   * executions this way), or continues (`entries`: a stored journal resumed); `start` runs it
   * with `options.journal`. Entries given here are not shown to the journal sinks again.
   */
  newJournal(flow: CompiledFlow, entries: readonly JournalEntry[] = []): Journal {
    const runtime = this.#runtime;
    return Journal.from(entries, () => runtime.clock.now(), captureFor(runtime.capture, flow.capture), runtime.sinks);
  }

  /** A new execution id (UUIDv7, from the engine's clock). */
  newExecutionId(): string {
    return this.#runtime.newId();
  }

  /** The current version of a flow. */
  getFlow(name: string): CompiledFlow | undefined {
    return this.#catalog.get(name);
  }

  /** The current version of every flow. */
  listFlows(): CompiledFlow[] {
    return [...this.#catalog.current().values()];
  }

  /** Cancels an execution running in this process. Returns false when it is not running here. */
  cancel(executionId: string, reason?: string): boolean {
    const execution = this.#running.get(executionId);
    if (execution === undefined) return false;
    execution.cancel(reason);
    return true;
  }

  /** Stops an execution running in this process with `error` (a lost lease). Returns false when it is not running here. */
  abort(executionId: string, error: FlowdError): boolean {
    const execution = this.#running.get(executionId);
    if (execution === undefined) return false;
    execution.abort(error);
    return true;
  }

  /** Cancels every execution running in this process (shutdown deadline); returns how many. */
  cancelAll(reason?: string): number {
    const running = [...this.#running.values()];
    for (const execution of running) execution.cancel(reason);
    return running.length;
  }

  get activeExecutions(): number {
    return this.#running.size;
  }

  /** The journal of an execution running in this process. */
  getRunning(executionId: string): Journal | undefined {
    return this.#running.get(executionId)?.journal;
  }

  /**
   * Waits for background work (triggered flows) to settle, then closes every component: of the
   * definitions loaded and retired, and of any other one an execution still runs on.
   */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#background]);
    const flows = new Set([...this.#catalog.held(), ...this.#use.inUse()]);
    await Promise.allSettled([...flows].map(closeComponents));
    await this.#use.settled();
    await this.#onClose?.();
  }

  async #runChild(name: string, input: unknown, options: ChildExecuteOptions): Promise<ExecutionRecord> {
    return this.start(name, input, options).done;
  }

  async #startInBackground(flow: string, input: unknown, parent: TriggerParent): Promise<string | undefined> {
    const max = this.#maxBackground;
    if (this.#background.size >= max) {
      throw new FlowdError('FLOWD_ERR_OVERLOADED', `${max} triggered flows are running in the background already (maxBackgroundTriggers); "${flow}" was not started`);
    }
    const started = this.start(flow, input, { parentId: parent.executionId, tenant: parent.tenant });
    const settled = started.done.catch((error: unknown) => this.#runtime.logger.error({ err: error, flow }, 'triggered flow failed'));
    this.#background.add(settled);
    void settled.finally(() => this.#background.delete(settled));
    return started.executionId;
  }

  #watchCircuits(flows: readonly CompiledFlow[]): void {
    for (const flow of flows) {
      for (const component of flow.components.values()) {
        component.breaker?.onStateChange((state) => {
          const name = (['closed', 'open', 'half_open', 'isolated'] as const)[state] ?? 'open';
          this.#chain.emitCircuitState({ flow: flow.name, component: component.name, state: name });
        });
      }
    }
  }
}
