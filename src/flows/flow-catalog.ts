import type { CompiledFlow } from './compiled.js';

/** How one flow version changed in a swap. */
export type VersionChange = 'added' | 'changed' | 'removed' | 'unchanged';

export interface CatalogChange {
  readonly flow: string;
  readonly version: string;
  readonly change: VersionChange;
}

/** What a swap did: the change of every version, and the definitions it retired. */
export interface CatalogSwap {
  readonly generation: number;
  /** False when the new set equals the loaded one (nothing swapped, no listener told). */
  readonly changed: boolean;
  readonly changes: readonly CatalogChange[];
  /**
   * Definitions that left the loaded set: still held (the newest MAX_RETIRED_DEFINITIONS) for the
   * executions pinned to them. Their components are closed once no execution runs on them
   * (DefinitionUse); an execution that runs on one again reopens them.
   */
  readonly retired: readonly CompiledFlow[];
  /** Definitions that were added (new versions, or new definitions of a version). */
  readonly added: readonly CompiledFlow[];
  /** Definitions given that equal one already held: not used (the caller closes their components). */
  readonly discarded: readonly CompiledFlow[];
}

/** A definition this process can run an execution pinned to: its flow name and content hash. */
export interface DefinitionKey {
  readonly name: string;
  readonly hash: string;
}

/**
 * Retired definitions kept claimable at most (the newest); older ones are forgotten (an execution
 * still running on one finishes on it; its components are closed when it ends, see DefinitionUse).
 */
export const MAX_RETIRED_DEFINITIONS = 64;

const VERSION_ORDER = new Intl.Collator('en', { numeric: true, sensitivity: 'variant' });

/** Orders versions as people read them: 2 < 10, 1.9 < 1.10, v2 < v10. */
export function compareVersions(a: string, b: string): number {
  return VERSION_ORDER.compare(a, b);
}

/**
 * The flows this process serves: every loaded version of every flow, which version of each is
 * current (the highest, see compareVersions), and the definitions retired by a reload that
 * executions may still be pinned to. `replace` swaps the whole loaded set at once: a reader sees
 * the old set or the new one, never a mix. An execution keeps the CompiledFlow it started with;
 * the catalog only decides what new executions and claims find.
 *
 * Read as a map (`get`, `has`, `size`, `keys`, `values`), it is the current version of each flow.
 */
export class FlowCatalog {
  /** name → version → definition (the loaded set). */
  #versions = new Map<string, ReadonlyMap<string, CompiledFlow>>();
  /** name → current definition. */
  #current: ReadonlyMap<string, CompiledFlow> = new Map();
  /** Retired definitions, oldest first, by `name@hash`. */
  readonly #retired = new Map<string, CompiledFlow>();
  #keys: readonly DefinitionKey[] = [];
  #generation = 0;
  readonly #listeners: ((swap: CatalogSwap) => void)[] = [];

  constructor(flows: Iterable<CompiledFlow> = []) {
    this.replace(flows);
  }

  /** Increases with every swap that changed something (1 after the first load). */
  get generation(): number {
    return this.#generation;
  }

  /** The current version of `name`. */
  get(name: string): CompiledFlow | undefined {
    return this.#current.get(name);
  }

  has(name: string): boolean {
    return this.#current.has(name);
  }

  /** How many flows (not versions) are loaded. */
  get size(): number {
    return this.#current.size;
  }

  /** The names of the loaded flows. */
  keys(): IterableIterator<string> {
    return this.#current.keys();
  }

  /** The current version of each flow. */
  values(): IterableIterator<CompiledFlow> {
    return this.#current.values();
  }

  /** A loaded version of `name`. */
  getVersion(name: string, version: string): CompiledFlow | undefined {
    return this.#versions.get(name)?.get(version);
  }

  /** Every loaded version of `name`, oldest first. */
  versionsOf(name: string): CompiledFlow[] {
    return [...(this.#versions.get(name)?.values() ?? [])].sort((a, b) => compareVersions(a.version, b.version));
  }

  /** The definition an execution is pinned to (loaded or retired), by flow name and hash. */
  pinned(name: string, hash: string): CompiledFlow | undefined {
    for (const flow of this.#versions.get(name)?.values() ?? []) if (flow.hash === hash) return flow;
    return this.#retired.get(`${name}@${hash}`);
  }

  /** The current version of every flow, by name (a snapshot: a later swap does not change it). */
  current(): ReadonlyMap<string, CompiledFlow> {
    return this.#current;
  }

  /** Every loaded version of every flow. */
  loaded(): CompiledFlow[] {
    return [...this.#versions.values()].flatMap((versions) => [...versions.values()]);
  }

  /** Every definition executions can be claimed for here: loaded and (the newest) retired ones. */
  claimable(): readonly DefinitionKey[] {
    return this.#keys;
  }

  /** Every definition held, loaded or retired (to close their components at the end). */
  held(): CompiledFlow[] {
    return [...this.loaded(), ...this.#retired.values()];
  }

  /** Told of every swap that changed something, after it took effect. */
  onSwap(listener: (swap: CatalogSwap) => void): void {
    this.#listeners.push(listener);
  }

  /**
   * Makes `flows` the loaded set, at once. A definition equal to a loaded one (same name, version
   * and hash) keeps the loaded object (its breakers and components); definitions that leave are
   * retired. Returns what changed.
   */
  replace(flows: Iterable<CompiledFlow>): CatalogSwap {
    const next = new Map<string, Map<string, CompiledFlow>>();
    const added: CompiledFlow[] = [];
    const discarded: CompiledFlow[] = [];
    const changes: CatalogChange[] = [];
    for (const flow of flows) {
      const previous = this.getVersion(flow.name, flow.version);
      // The same definition again (loaded, or retired and back): the object already held.
      const same = previous?.hash === flow.hash ? previous : this.#retired.get(keyOf(flow));
      if (same === undefined) added.push(flow);
      else if (same !== flow) discarded.push(flow);
      changes.push({ flow: flow.name, version: flow.version, change: previous === undefined ? 'added' : previous.hash === flow.hash ? 'unchanged' : 'changed' });
      let versions = next.get(flow.name);
      if (versions === undefined) next.set(flow.name, (versions = new Map<string, CompiledFlow>()));
      versions.set(flow.version, same ?? flow);
    }
    const retired: CompiledFlow[] = [];
    for (const flow of this.loaded()) {
      const stays = next.get(flow.name)?.get(flow.version);
      if (stays === flow) continue;
      retired.push(flow);
      if (stays === undefined) changes.push({ flow: flow.name, version: flow.version, change: 'removed' });
    }
    this.#versions = next;
    this.#current = new Map([...next].map(([name, versions]) => [name, highest(versions.values())]));
    this.#retire(retired);
    this.#keys = [...this.loaded(), ...this.#retired.values()].map((flow) => ({ name: flow.name, hash: flow.hash }));
    changes.sort((a, b) => a.flow.localeCompare(b.flow) || compareVersions(a.version, b.version));
    const changed = this.#generation === 0 || changes.some((change) => change.change !== 'unchanged');
    if (changed) this.#generation += 1;
    const swap: CatalogSwap = { generation: this.#generation, changed, changes, retired, added, discarded };
    if (changed) for (const listener of this.#listeners) listener(swap);
    return swap;
  }

  #retire(flows: readonly CompiledFlow[]): void {
    for (const flow of flows) {
      this.#retired.delete(keyOf(flow));
      this.#retired.set(keyOf(flow), flow);
    }
    // A definition loaded again is not retired any more.
    for (const flow of this.loaded()) this.#retired.delete(keyOf(flow));
    while (this.#retired.size > MAX_RETIRED_DEFINITIONS) {
      const oldest = this.#retired.keys().next().value as string;
      this.#retired.delete(oldest);
    }
  }
}

function keyOf(flow: CompiledFlow): string {
  return `${flow.name}@${flow.hash}`;
}

function highest(flows: Iterable<CompiledFlow>): CompiledFlow {
  let best: CompiledFlow | undefined;
  for (const flow of flows) if (best === undefined || compareVersions(flow.version, best.version) > 0) best = flow;
  return best!;
}
