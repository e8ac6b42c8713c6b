import type { CompiledFlow } from './compiled.js';
import type { FlowCatalog } from './flow-catalog.js';

/**
 * Which definitions executions of this process run on, and closing the components (pools,
 * connections) of those no longer in use: a definition that left the loaded set (a reload retired
 * it, or dropped it past the retired bound) has its components closed as soon as no execution here
 * runs on it — at the reload when none does, else when the last one ends. Never under a running
 * execution. A retired definition an execution runs on again later (a waiting or queued execution
 * pinned to it, a retry) reopens its connections at its first call (every adapter opens lazily),
 * and they are closed again when that execution ends. Loaded definitions keep theirs open.
 */
export class DefinitionUse {
  readonly #catalog: FlowCatalog;
  /** Definition → how many executions of this process run on it now. */
  readonly #running = new Map<CompiledFlow, number>();
  /** Definitions that left the loaded set at some swap (they may have come back since). */
  readonly #left = new WeakSet<CompiledFlow>();
  readonly #closing = new Set<Promise<void>>();

  constructor(catalog: FlowCatalog) {
    this.#catalog = catalog;
    catalog.onSwap((swap) => {
      for (const flow of swap.retired) {
        this.#left.add(flow);
        this.#closeIfUnused(flow);
      }
    });
  }

  /**
   * Marks `flow` in use by one execution until the returned function is called (once; later calls
   * do nothing): its components are not closed meanwhile.
   */
  hold(flow: CompiledFlow): () => void {
    this.#running.set(flow, (this.#running.get(flow) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.#running.get(flow) ?? 1) - 1;
      if (left > 0) {
        this.#running.set(flow, left);
        return;
      }
      this.#running.delete(flow);
      this.#closeIfUnused(flow);
    };
  }

  /** The definitions executions of this process run on now (some may be unknown to the catalog any more). */
  inUse(): CompiledFlow[] {
    return [...this.#running.keys()];
  }

  /** Resolves when the closes started so far have ended. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#closing]);
  }

  #closeIfUnused(flow: CompiledFlow): void {
    if (this.#running.has(flow) || !this.#left.has(flow) || this.#catalog.getVersion(flow.name, flow.version) === flow) return;
    const closing = closeComponents(flow);
    this.#closing.add(closing);
    void closing.finally(() => this.#closing.delete(closing));
  }
}

/** Closes a definition's component instances (pools, connections); a failed close is ignored. */
export async function closeComponents(flow: CompiledFlow): Promise<void> {
  const closing: Promise<void>[] = [];
  for (const component of flow.components.values()) if (component.instance.close !== undefined) closing.push(component.instance.close());
  await Promise.allSettled(closing);
}
