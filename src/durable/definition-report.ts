import type { FlowLogger } from '../engine/logger.js';
import type { FlowCatalog } from '../flows/flow-catalog.js';
import type { ExecutionStore, PendingDefinition } from '../store/execution-store.js';

const REPORT_EVERY_MS = 30_000;
const REPEAT_AFTER_MS = 5 * 60_000;

/**
 * Reports claimable executions pinned to a definition this replica does not have (another version
 * of the flow, or an unknown flow): this replica leaves them to a replica that has it. Each
 * definition is reported at most every 5 minutes.
 */
export class DefinitionReport {
  readonly #store: ExecutionStore;
  readonly #flows: FlowCatalog;
  readonly #logger: FlowLogger;
  readonly #reported = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: { store: ExecutionStore; flows: FlowCatalog; logger: FlowLogger; firstAfterMs: number }) {
    this.#store = options.store;
    this.#flows = options.flows;
    this.#logger = options.logger;
    const report = (): void => {
      if (this.#closed) return;
      void this.report().catch((error: unknown) => this.#logger.warn({ err: error }, 'definition check failed'));
      this.#timer = setTimeout(report, REPORT_EVERY_MS).unref();
    };
    this.#timer = setTimeout(report, options.firstAfterMs).unref();
  }

  async report(): Promise<PendingDefinition[]> {
    const pending = await this.#store.pendingElsewhere(this.#flows.claimable());
    const now = Date.now();
    for (const entry of pending) {
      const key = `${entry.flow}@${entry.flowHash}`;
      if ((this.#reported.get(key) ?? 0) > now) continue;
      this.#reported.set(key, now + REPEAT_AFTER_MS);
      const local = this.#flows.get(entry.flow);
      if (local !== undefined) {
        this.#logger.warn(
          { flow: entry.flow, pinnedHash: entry.flowHash, localHash: local.hash, executions: entry.count },
          'flow definition mismatch: executions were started on another definition of this flow; this replica will not run them (they stay pinned to their definition)',
        );
      } else {
        this.#logger.warn({ flow: entry.flow, pinnedHash: entry.flowHash, executions: entry.count }, 'executions wait for a flow this replica does not have');
      }
    }
    return pending;
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }
}
