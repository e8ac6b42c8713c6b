import { LeaseLostError } from '../errors.js';
import type { Journal } from '../engine/journal/journal.js';
import { recordView } from '../engine/journal/record-view.js';
import type { FlowLogger } from '../engine/logger.js';
import type { ExecutionObserver, ReceivedSignal, RunSuspension } from '../engine/runtime.js';
import type { CompiledFlow } from '../flows/compiled.js';
import type { ExecutionStore, FinishedSummary, Lease, StoredOptions } from '../store/execution-store.js';
import type { CallbackSender } from './callbacks.js';
import { encodeEntries } from './journal-codec.js';
import type { LeaseKeeper } from './leases.js';
import type { Cleaner } from '../observability/cleaner.js';

/** What every durable run of this process shares. */
export interface DurableWriter {
  readonly store: ExecutionStore;
  readonly leases: LeaseKeeper;
  readonly owner: string;
  readonly leaseMs: number;
  readonly logger: FlowLogger;
  readonly callbacks: CallbackSender;
  /** Secrets masked, sensitive fields redacted: what stored rows and callbacks show. */
  readonly clean: Cleaner;
}

export interface DurableRunInit {
  readonly flow: CompiledFlow;
  readonly tenant: string;
  readonly options: StoredOptions;
  /** Held already: the execution was written before it ran (queued, idempotent) or was claimed. */
  readonly lease?: Lease | undefined;
  /** How many of the journal's entries the store has. */
  readonly stored?: number | undefined;
}

/**
 * The durable side of one execution, as its observer: the journal is written ahead of every call
 * with side effects (fenced by the lease, batched with other executions' writes by the store), and
 * completely at the end. An execution that makes no side effect before it ends is written once,
 * at its end (nothing could be repeated by a resume). A lost lease stops the execution: the
 * worker that holds it now carries on from what is stored.
 */
export class DurableRun implements ExecutionObserver {
  readonly #writer: DurableWriter;
  readonly #init: DurableRunInit;
  #lease: Lease | undefined;
  #stored: number;
  #writing: Promise<void> = Promise.resolve();
  /** Set when the lease is lost: nothing more is written. */
  #lost: LeaseLostError | undefined;
  /** Stops the execution where it is (set once the engine started it). */
  #stop: ((error: LeaseLostError) => void) | undefined;

  constructor(writer: DurableWriter, init: DurableRunInit) {
    this.#writer = writer;
    this.#init = init;
    this.#lease = init.lease;
    this.#stored = init.stored ?? 0;
    if (init.lease !== undefined) writer.leases.hold(init.lease, (error) => this.#lose(error));
  }

  /**
   * How to stop the execution when its lease is lost (the engine's abort for it). A callback, not
   * an AbortSignal handed to the engine: most durable runs never hold a lease (a sync execution
   * with no side effect is written once, at its end), and a signal and its listener per execution
   * were a measurable share of their cost.
   */
  attach(stop: (error: LeaseLostError) => void): void {
    this.#stop = stop;
    if (this.#lost !== undefined) stop(this.#lost);
  }

  get lease(): Lease | undefined {
    return this.#lease;
  }

  beforeEffect(journal: Journal): Promise<void> {
    this.#writing = this.#writing.then(() => this.#write(journal));
    return this.#writing;
  }

  async onFinish(journal: Journal, flow: CompiledFlow): Promise<void> {
    await this.#writing.catch(() => {});
    const writer = this.#writer;
    const summary = finishedSummary(journal);
    try {
      if (this.#lease === undefined) {
        await writer.store.save({
          executionId: journal.executionId,
          flow: flow.name,
          version: flow.version,
          flowHash: flow.hash,
          tenant: this.#init.tenant,
          parentId: journal.started.parentId,
          correlationKey: journal.started.correlationKey,
          startedAt: journal.started.at,
          summary,
          // Nothing resumes a succeeded execution and nothing retries it: its raw values are not kept.
          rows: encodeEntries(journal.entries, 0, writer.clean, summary.status !== 'succeeded'),
        });
      } else {
        // Nothing resumes a succeeded execution and nothing retries it: its raw values go.
        await writer.store.finish(this.#lease, encodeEntries(journal.entries, this.#stored, writer.clean), summary, { clearState: summary.status === 'succeeded' });
      }
      this.#stored = journal.length;
    } catch (error) {
      if (error instanceof LeaseLostError) writer.logger.warn({ executionId: journal.executionId }, 'final write refused: another worker holds the execution now');
      else writer.logger.error({ err: error, executionId: journal.executionId }, 'could not write the final record; the execution will be resumed when its lease expires');
      return;
    } finally {
      if (this.#lease !== undefined) writer.leases.drop(this.#lease.executionId);
    }
    const callbackUrl = this.#init.options.callbackUrl;
    if (callbackUrl !== undefined) writer.callbacks.send(callbackUrl, recordView(journal.entries, { clean: writer.clean }));
  }

  /**
   * The run stops at a wait: the journal is written and the execution stored `waiting` until the
   * wait is due — converted to the store's clock, so replicas whose clocks differ agree — or until a
   * signal for it arrives. The lease is given up: any replica resumes it.
   */
  async suspend(journal: Journal, suspension: RunSuspension): Promise<void> {
    await this.#writing.catch(() => {});
    await this.#write(journal);
    const writer = this.#writer;
    const lease = this.#lease!;
    try {
      const storeNow = await writer.store.now();
      const wakeAt = storeNow + Math.max(0, suspension.until - journal.now());
      await writer.store.suspend(lease, encodeEntries(journal.entries, this.#stored, writer.clean), { wakeAt, waitingFor: suspension.for, signal: suspension.signal });
      this.#stored = journal.length;
    } finally {
      writer.leases.drop(lease.executionId);
    }
  }

  /** The signal for a wait, from the store (written first: a lazily durable run gets its lease here). */
  async takeSignal(journal: Journal, name: string, key: string): Promise<ReceivedSignal | undefined> {
    await this.beforeEffect(journal);
    const taken = await this.#writer.store.signals.take(this.#lease!, name, key);
    return taken === undefined ? undefined : { payload: JSON.parse(taken.payload) as unknown, receivedAt: taken.receivedAt };
  }

  async registerCallback(journal: Journal, callback: { tokenHash: string; key: string; signal: string; expiresAt: number }): Promise<void> {
    await this.beforeEffect(journal);
    const store = this.#writer.store;
    const expiresAt = (await store.now()) + Math.max(0, callback.expiresAt - journal.now());
    await store.signals.registerCallback(this.#lease!, { tokenHash: callback.tokenHash, executionId: journal.executionId, waitKey: callback.key, signal: callback.signal, expiresAt });
  }

  /** The run stopped without an end (lease lost, shutdown): its lease is not renewed any more. */
  abandon(): void {
    if (this.#lease !== undefined) this.#writer.leases.drop(this.#lease.executionId);
  }

  #lose(error: LeaseLostError): void {
    this.#lost ??= error;
    this.#stop?.(error);
  }

  async #write(journal: Journal): Promise<void> {
    if (this.#lost !== undefined) throw this.#lost;
    const writer = this.#writer;
    const length = journal.length;
    if (this.#lease === undefined) {
      const created = await writer.store.create({
        executionId: journal.executionId,
        flow: this.#init.flow.name,
        version: this.#init.flow.version,
        flowHash: this.#init.flow.hash,
        tenant: this.#init.tenant,
        options: this.#init.options,
        parentId: journal.started.parentId,
        correlationKey: journal.started.correlationKey,
        status: 'running',
        owner: writer.owner,
        leaseMs: writer.leaseMs,
        rows: encodeEntries(journal.entries, 0, writer.clean),
      });
      if (!created.created || created.lease === undefined) throw new LeaseLostError('the execution could not be written before its first side effect');
      this.#lease = created.lease;
      writer.leases.hold(created.lease, (error) => this.#lose(error));
    } else if (length > this.#stored) {
      await writer.store.append(this.#lease, encodeEntries(journal.entries, this.#stored, writer.clean), writer.leaseMs);
    }
    this.#stored = length;
  }
}

/**
 * What the store keeps beside an ended journal (status, error code, recovered), read from its
 * entries as the record view would show them, without building the record.
 */
export function finishedSummary(journal: Journal): FinishedSummary {
  let status: FinishedSummary['status'] | undefined;
  let errorCode: string | undefined;
  let recovered = false;
  for (const entry of journal.entries) {
    if (entry.type === 'execution_failed') errorCode = entry.error.code;
    else if (entry.type === 'recovery_ended' && entry.succeeded) recovered = true;
    else if (entry.type === 'execution_finished') {
      status = entry.status;
      if (entry.error !== undefined) errorCode = entry.error.code;
    }
  }
  if (status === undefined) return { status: recordView(journal.entries).status, errorCode, recovered };
  return { status, errorCode, recovered };
}
