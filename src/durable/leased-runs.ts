import { FlowdError, toFlowdError } from '../errors.js';
import type { FlowEngine } from '../engine/flow-engine.js';
import { Journal } from '../engine/journal/journal.js';
import { recordView } from '../engine/journal/record-view.js';
import { TERMINAL_STATUSES, type ExecutionRecord } from '../engine/record.js';
import type { CompiledFlow } from '../flows/compiled.js';
import type { Lease, StoredOptions } from '../store/execution-store.js';
import { DurableRun, type DurableWriter } from './durable-run.js';
import { encodeEntries } from './journal-codec.js';

export interface LeasedStart {
  readonly flow: CompiledFlow;
  readonly tenant: string;
  readonly options: StoredOptions;
  /** The journal to continue (written to the store already), or undefined to start a new one. */
  readonly journal?: Journal | undefined;
  readonly input: unknown;
  /** Held already (written before it runs, or claimed); undefined: written at its first side effect or its end. */
  readonly lease?: Lease | undefined;
  /** The cancellation was requested before this run started. */
  readonly cancel?: boolean | undefined;
  /** A retry (`POST /executions/{id}/retry`): the execution it re-runs and what it restores from it. */
  readonly retry?: { readonly of: string; readonly checkpoints: ReadonlyMap<string, unknown>; readonly compensationRequests: ReadonlyMap<string, unknown> } | undefined;
}

/**
 * Durable executions this process runs (sync calls under `persistence: all`, queued work it
 * claimed, resumed work): each under a DurableRun observer holding its lease.
 */
export class LeasedRuns {
  readonly #engine: FlowEngine;
  readonly #writer: DurableWriter;
  readonly #inFlight = new Map<string, Promise<ExecutionRecord>>();

  constructor(engine: FlowEngine, writer: DurableWriter) {
    this.#engine = engine;
    this.#writer = writer;
  }

  /** Durable executions running here now. */
  get active(): number {
    return this.#inFlight.size;
  }

  start(start: LeasedStart): { executionId: string; done: Promise<ExecutionRecord> } {
    const run = new DurableRun(this.#writer, { flow: start.flow, tenant: start.tenant, options: start.options, lease: start.lease, stored: start.journal?.length ?? 0 });
    const { options } = start;
    let executionId: string;
    let done: Promise<ExecutionRecord>;
    try {
      const started = this.#engine.start(start.flow, start.input, {
        journal: start.journal,
        observer: run,
        timeoutMs: options.timeoutMs,
        enableCaching: options.enableCaching,
        parallelExecution: options.parallelExecution,
        requestId: options.requestId,
        traceparent: options.traceparent,
        correlationKey: options.correlationKey,
        tenant: start.tenant,
        ...(start.retry === undefined
          ? {}
          : { retryOf: start.retry.of, checkpoints: start.retry.checkpoints, compensationRequests: start.retry.compensationRequests }),
      });
      executionId = started.executionId;
      run.attach((error) => this.#engine.abort(started.executionId, error));
      if (start.cancel === true) this.#engine.cancel(executionId, 'cancelled through the API');
      done = started.done.catch((error: unknown) => {
        // Only an observer or middleware failure gets here (the engine never throws for a failed flow).
        this.#writer.logger.error({ err: error, executionId }, 'durable execution ended abnormally');
        return recordView(started.journal.entries);
      });
    } catch (error) {
      // The flow's input no longer validates (its definition changed while it was queued).
      if (start.journal === undefined || start.lease === undefined) throw error;
      executionId = start.journal.executionId;
      done = this.failStored(start.journal, start.lease, toFlowdError(error));
    }
    const tracked = done.then((record) => {
      this.#inFlight.delete(executionId);
      if (!TERMINAL_STATUSES.has(record.status)) run.abandon();
      return record;
    });
    this.#inFlight.set(executionId, tracked);
    return { executionId, done: tracked };
  }

  /** Ends a stored execution that cannot run (gave up after too many attempts, definition changed). */
  async failStored(stored: Journal, lease: Lease, error: FlowdError): Promise<ExecutionRecord> {
    const journal = Journal.from(stored.entries, () => Date.now());
    const summary = { code: error.code, message: error.message, recoverable: false };
    // This claim is a run of its own, that ends at once.
    const runs = journal.entries.filter((entry) => entry.type === 'run_started').length;
    journal.append({ type: 'run_started', run: runs + 1 });
    journal.append({ type: 'execution_failed', error: summary });
    journal.append({ type: 'execution_finished', status: 'failed', error: summary });
    const record = recordView(journal.entries, { clean: this.#writer.clean });
    try {
      await this.#writer.store.finish(lease, encodeEntries(journal.entries, stored.length, this.#writer.clean), { status: 'failed', errorCode: error.code });
    } catch (writeError) {
      this.#writer.logger.warn({ err: writeError, executionId: lease.executionId }, 'could not fail the execution');
    }
    return record;
  }

  /** Waits (up to `ms`) for what runs here to settle. */
  async settle(ms: number): Promise<void> {
    if (this.#inFlight.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.#inFlight.values()]), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
  }
}

export function gaveUp(attempts: number): FlowdError {
  return new FlowdError('FLOWD_ERR_INTERNAL', `gave up after ${attempts - 1} attempts (each ended without a result: crash or lost lease); see EXECUTION_MAX_ATTEMPTS`);
}
