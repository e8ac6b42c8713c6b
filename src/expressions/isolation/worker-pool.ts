/**
 * A small pool of expression worker threads with a hard deadline per evaluation.
 *
 * Each worker runs one evaluation at a time. The deadline starts when an evaluation is handed to
 * a ready worker (never while it waits in the queue): at `timeoutMs + marginMs` the worker is
 * terminated (V8 stops it wherever it is, inside a built-in or a regex included), the evaluation
 * fails with the time-limit ExpressionError, and a fresh worker is started when one is next
 * needed. A worker that runs out of its heap (`resourceLimits`) dies alone, the evaluation fails
 * with a memory-limit error. Idle workers are unref'd, so they never keep a process alive.
 *
 * Why not piscina: its abort signal covers a task's time in the queue too, so under a burst an
 * innocent evaluation would be killed for waiting behind hostile ones; the deadline here starts
 * at dispatch, which needs the dispatch in our hands (about 150 lines).
 */
import { Worker, type ResourceLimits } from 'node:worker_threads';
import { ExpressionError, FlowdError } from '../../errors.js';
import { timeLimitError } from '../bounded-evaluation.js';
import { FairQueue } from './fair-queue.js';
import { WORKER_READY, type EvaluationAnswer, type EvaluationRequest } from './protocol.js';

export interface WorkerPoolOptions {
  readonly size: number;
  /** Time a worker gets past the evaluation's own time limit before it is terminated. */
  readonly marginMs: number;
  /** Evaluations waiting for a worker; one more is refused with FLOWD_ERR_OVERLOADED. One group (a tenant) may hold half of them. */
  readonly maxQueue: number;
  readonly resourceLimits: ResourceLimits;
}

export type PoolRequest = Omit<EvaluationRequest, 'id'>;

/** Thrown by run() when the scope holds a value that cannot be copied to a thread (a function, a class with private state…). */
export class UncloneableScopeError extends Error {}

interface Task {
  readonly request: PoolRequest;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

interface Slot {
  readonly worker: Worker;
  ready: boolean;
  running?: { readonly id: number; readonly task: Task; readonly timer: NodeJS.Timeout } | undefined;
}

/** The worker's entry: the compiled .js next to this file, or the TypeScript source through tsx. */
function workerEntry(): { url: URL; workerData?: { entry: string } } {
  const own = import.meta.url;
  if (!own.endsWith('.ts')) return { url: new URL('./evaluation-worker.js', own) };
  return { url: new URL('./source-worker.mjs', own), workerData: { entry: new URL('./evaluation-worker.ts', own).href } };
}

export class ExpressionWorkerPool {
  readonly #options: WorkerPoolOptions;
  readonly #slots = new Set<Slot>();
  readonly #idle: Slot[] = [];
  /** Waiting evaluations, served round-robin across groups (tenants). */
  readonly #queue = new FairQueue<Task>();
  #nextId = 1;
  #closed = false;

  constructor(options: WorkerPoolOptions) {
    this.#options = options;
  }

  /**
   * Evaluates in a worker; resolves with the plain result, rejects with ExpressionError (or FlowdError
   * OVERLOADED). `group` (the caller's tenant) is served in turn with the others, and may fill half the queue.
   */
  run(request: PoolRequest, group = ''): Promise<unknown> {
    if (this.#closed) return Promise.reject(new FlowdError('FLOWD_ERR_SHUTTING_DOWN', 'expression workers are closed'));
    if (this.#queue.size >= this.#options.maxQueue) {
      return Promise.reject(
        new FlowdError('FLOWD_ERR_OVERLOADED', `${this.#queue.size} expression evaluations are waiting for a worker; retry later`, { recoverable: true }),
      );
    }
    if (this.#queue.sizeOf(group) >= Math.ceil(this.#options.maxQueue / 2)) {
      return Promise.reject(
        new FlowdError('FLOWD_ERR_OVERLOADED', `${this.#queue.sizeOf(group)} expression evaluations of this caller are waiting for a worker; retry later`, { recoverable: true }),
      );
    }
    return new Promise((resolve, reject) => {
      this.#queue.push(group, { request, resolve, reject });
      this.#pump();
    });
  }

  /** Starts every worker now, so the first evaluations do not wait for threads to start. */
  start(): void {
    while (!this.#closed && this.#slots.size < this.#options.size) this.#spawn();
  }

  /** Terminates every worker; evaluations still queued or running fail. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const task of this.#queue.drain()) task.reject(new FlowdError('FLOWD_ERR_SHUTTING_DOWN', 'expression workers are closed'));
    const slots = [...this.#slots];
    for (const slot of slots) this.#discard(slot, new FlowdError('FLOWD_ERR_SHUTTING_DOWN', 'expression workers are closed'));
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
  }

  #pump(): void {
    while (this.#queue.size > 0) {
      const slot = this.#idle.pop();
      if (slot === undefined) break;
      this.#dispatch(slot, this.#queue.shift()!);
    }
    if (this.#queue.size > 0 && this.#slots.size < this.#options.size) this.#spawn();
  }

  #spawn(): void {
    const entry = workerEntry();
    const worker = new Worker(entry.url, { workerData: entry.workerData, resourceLimits: this.#options.resourceLimits, stdout: false, stderr: false });
    const slot: Slot = { worker, ready: false };
    this.#slots.add(slot);
    worker.on('message', (message: EvaluationAnswer | typeof WORKER_READY) => {
      if (message === WORKER_READY) {
        slot.ready = true;
        worker.unref();
        this.#release(slot);
      } else {
        this.#answer(slot, message);
      }
    });
    worker.on('error', (error: Error & { code?: string }) => {
      const running = slot.running;
      const failure =
        running === undefined
          ? new ExpressionError(`expression worker failed: ${error.message}`)
          : error.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? new ExpressionError(`${running.task.request.where}: expression "${running.task.request.source}" exceeded its memory limit`, {
                where: running.task.request.where,
                expression: running.task.request.source,
              }, { details: { limit: 'memory' } })
            : new ExpressionError(`${running.task.request.where}: expression "${running.task.request.source}" stopped its worker (${error.name})`, {
                where: running.task.request.where,
                expression: running.task.request.source,
              });
      // A worker that cannot even start would fail every evaluation the same way: fail those waiting too.
      if (!slot.ready) for (const task of this.#queue.drain()) task.reject(failure);
      this.#discard(slot, failure);
    });
    worker.on('exit', () => {
      this.#discard(slot, new ExpressionError('expression worker exited'));
    });
  }

  #dispatch(slot: Slot, task: Task): void {
    const id = this.#nextId++;
    try {
      slot.worker.postMessage({ id, ...task.request } satisfies EvaluationRequest);
    } catch (error) {
      this.#idle.push(slot);
      task.reject(new UncloneableScopeError('the scope cannot be copied to a worker', { cause: error }));
      return;
    }
    const { where, source, limits } = task.request;
    const timer = setTimeout(() => {
      this.#discard(slot, timeLimitError(where, source, limits.timeoutMs));
      void slot.worker.terminate();
      this.#pump();
    }, limits.timeoutMs + this.#options.marginMs);
    slot.running = { id, task, timer };
    slot.worker.ref();
  }

  #answer(slot: Slot, answer: EvaluationAnswer): void {
    const running = slot.running;
    if (running === undefined || running.id !== answer.id) return;
    clearTimeout(running.timer);
    slot.running = undefined;
    slot.worker.unref();
    this.#release(slot);
    if ('error' in answer) {
      const { where, source } = running.task.request;
      running.task.reject(new ExpressionError(answer.error.message, { where, expression: source }, { details: answer.error.details }));
    } else {
      running.task.resolve(answer.value);
    }
  }

  #release(slot: Slot): void {
    if (this.#closed || !this.#slots.has(slot)) return;
    this.#idle.push(slot);
    this.#pump();
  }

  /** Takes a slot out of the pool for good, failing what it was running with `failure`. */
  #discard(slot: Slot, failure: unknown): void {
    if (!this.#slots.delete(slot)) return;
    const index = this.#idle.indexOf(slot);
    if (index >= 0) this.#idle.splice(index, 1);
    const running = slot.running;
    slot.running = undefined;
    if (running !== undefined) {
      clearTimeout(running.timer);
      running.task.reject(failure);
    }
    slot.worker.unref();
    // Replace it at once, so the next evaluation does not wait for a thread to start.
    if (!this.#closed) {
      this.#spawn();
      this.#pump();
    }
  }
}
