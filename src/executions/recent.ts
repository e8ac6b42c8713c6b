import { LRUCache } from 'lru-cache';
import type { Journal } from '../engine/journal/journal.js';

/**
 * The journals of executions that ended in this process without being stored (persistence
 * `none`, or `failed` for one that succeeded): the newest EXECUTIONS_MAX, in memory. They are
 * served and listed beside the stored ones (marked `stored: false`) until evicted or restarted.
 */
export class RecentExecutions {
  readonly #journals: LRUCache<string, Journal>;

  constructor(max: number) {
    this.#journals = new LRUCache({ max });
  }

  add(journal: Journal): void {
    this.#journals.set(journal.executionId, journal);
  }

  get(executionId: string): Journal | undefined {
    return this.#journals.get(executionId);
  }

  /** Every kept journal, newest first (ids are UUIDv7: they sort by start time). */
  newestFirst(): Journal[] {
    return [...this.#journals.values()].sort((a, b) => (a.executionId < b.executionId ? 1 : a.executionId > b.executionId ? -1 : 0));
  }

  get size(): number {
    return this.#journals.size;
  }
}
