import type { Journal } from '../engine/journal/journal.js';

/**
 * The journals of executions that ended in this process without being stored (persistence
 * `none`, or `failed` for one that succeeded): the newest EXECUTIONS_MAX, in memory. They are
 * served and listed beside the stored ones (marked `stored: false`) until evicted or restarted.
 * A Map in insertion order is the whole mechanism: the oldest is evicted first, and reading one
 * does not keep it longer (the newest are kept, not the most read).
 */
export class RecentExecutions {
  readonly #journals = new Map<string, Journal>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  add(journal: Journal): void {
    const journals = this.#journals;
    journals.delete(journal.executionId);
    journals.set(journal.executionId, journal);
    if (journals.size > this.#max) journals.delete(journals.keys().next().value as string);
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
