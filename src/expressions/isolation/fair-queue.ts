/**
 * A queue served round-robin across groups (callers' tenants): each group's items keep their
 * order, and the next item comes from the group after the one served last. One caller queueing
 * many slow evaluations thus delays another caller's next one by at most one item per group
 * ahead of it, not by everything it queued.
 */
export class FairQueue<T> {
  /** Groups with items, in serving order (a Map keeps insertion order: served groups go to the back). */
  readonly #groups = new Map<string, T[]>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  sizeOf(group: string): number {
    return this.#groups.get(group)?.length ?? 0;
  }

  push(group: string, item: T): void {
    const items = this.#groups.get(group);
    if (items === undefined) this.#groups.set(group, [item]);
    else items.push(item);
    this.#size += 1;
  }

  /** The next item, from the group whose turn it is; undefined when empty. */
  shift(): T | undefined {
    for (const [group, items] of this.#groups) {
      const item = items.shift()!;
      this.#groups.delete(group);
      if (items.length > 0) this.#groups.set(group, items);
      this.#size -= 1;
      return item;
    }
    return undefined;
  }

  /** Empties the queue, returning every item. */
  drain(): T[] {
    const all = [...this.#groups.values()].flat();
    this.#groups.clear();
    this.#size = 0;
    return all;
  }
}
