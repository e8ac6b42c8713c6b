import { LRUCache } from 'lru-cache';
import { checkpointKey } from '../engine/execution.js';
import type { Middleware } from '../engine/middleware.js';
import type { CompiledFlow, Persistence } from '../flows/compiled.js';
import type { CheckpointSource, StoredCheckpoints } from './plan-retry.js';

export interface CheckpointRecorderOptions {
  /** How many executions' checkpoints are kept (the oldest are dropped). */
  readonly maxExecutions: number;
  /** The service-wide persistence policy; a flow's own `persistence` wins. */
  readonly defaultPersistence: Persistence;
}

/**
 * Keeps, in this process, the outputs of the phases each execution completed, for flows whose
 * persistence policy is `failed` or `all`, until the execution ends: they are dropped when it
 * succeeds. It is the checkpoint source of `POST /executions/{id}/retry` for executions that did
 * not run durably (the store has no checkpoints of them); it is lost on restart.
 */
export class CheckpointRecorder implements CheckpointSource {
  readonly #entries: LRUCache<string, Map<string, unknown>>;
  readonly #defaultPersistence: Persistence;

  constructor(options: CheckpointRecorderOptions) {
    this.#entries = new LRUCache({ max: options.maxExecutions });
    this.#defaultPersistence = options.defaultPersistence;
  }

  persistenceOf(flow: CompiledFlow): Persistence {
    return flow.persistence ?? this.#defaultPersistence;
  }

  middleware(): Middleware {
    return {
      name: 'checkpoint-recorder',
      onFlowStart: (ctx) => {
        if (this.persistenceOf(ctx.flow) === 'none') return;
        if (!this.#entries.has(ctx.executionId)) this.#entries.set(ctx.executionId, new Map());
      },
      onFlowEnd: (ctx, record) => {
        // Only executions that did not succeed can be retried: nothing is kept for the others.
        if (record.status === 'succeeded') this.#entries.delete(ctx.executionId);
      },
      onPhaseEnd: (ctx, output) => {
        // Decisions are re-evaluated on resume, never restored.
        if (ctx.record.status !== 'succeeded' || ctx.phase.kind === 'decision') return;
        this.#entries.peek(ctx.execution.executionId)?.set(checkpointKey(ctx.record.id, ctx.record), output);
      },
    };
  }

  /** Checkpoints a rerun restored (restored phases skip middleware), so a retry of a retry has them too. */
  seed(executionId: string, checkpoints: ReadonlyMap<string, unknown>): void {
    const entry = this.#entries.peek(executionId) ?? new Map<string, unknown>();
    for (const [key, output] of checkpoints) if (!entry.has(key)) entry.set(key, output);
    this.#entries.set(executionId, entry);
  }

  async getCheckpoints(executionId: string): Promise<StoredCheckpoints | undefined> {
    const entry = this.#entries.peek(executionId);
    return entry === undefined ? undefined : { checkpoints: new Map(entry) };
  }
}
