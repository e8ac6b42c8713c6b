import type { JournalRow } from './execution-store.js';

/** The bytes a batch of rows carries (text length: what bounds a statement or a transaction). */
export function rowsSize(rows: readonly JournalRow[]): number {
  let size = 0;
  for (const row of rows) size += row.data.length + (row.state?.length ?? 0) + 64;
  return size;
}

/** How writes are grouped: the bounds of one batch (one transaction in SQLite, one statement in PostgreSQL). */
export interface GroupCommitOptions {
  /** Most journal rows in one batch. Default 2 000. */
  readonly maxRows?: number | undefined;
  /** Most bytes of row text (`data` + `state`) in one batch. Default 4 MiB. A single larger write goes alone. */
  readonly maxBytes?: number | undefined;
  /**
   * PostgreSQL: how long a batch waits for a free pool connection before it is sent anyway (the
   * pool queues it). Default 2 ms. A batch that is full, or finds a free connection, goes at once.
   */
  readonly maxWaitMs?: number | undefined;
}

export const GROUP_COMMIT_DEFAULTS = { maxRows: 2000, maxBytes: 4 * 1024 * 1024, maxWaitMs: 2 } as const;

/** A queued write's weight in a batch. */
export interface Weighed {
  readonly rows: number;
  readonly bytes: number;
}

/**
 * Takes from the head of `queue` what fits one batch (at least one write, so an oversized one goes
 * alone). `admit` may keep a write that fits out of this batch (it stays queued, in its place); it
 * is called only for writes that fit, and each write it admits joins the batch.
 */
export function takeBatch<T extends Weighed>(queue: T[], limits: { maxRows: number; maxBytes: number }, admit: (item: T) => boolean = () => true): T[] {
  const batch: T[] = [];
  const left: T[] = [];
  let rows = 0;
  let bytes = 0;
  let full = false;
  for (const item of queue) {
    if (!full && batch.length > 0 && (rows + item.rows > limits.maxRows || bytes + item.bytes > limits.maxBytes)) full = true;
    if (full || !admit(item)) {
      left.push(item);
      continue;
    }
    batch.push(item);
    rows += item.rows;
    bytes += item.bytes;
  }
  queue.length = 0;
  for (const item of left) queue.push(item);
  return batch;
}
