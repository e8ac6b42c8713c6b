import { CancelledError } from '../../errors.js';
import { Canceller, type Cancellation } from '../cancellation.js';

/**
 * Runs `work` for each item with at most `limit` at once. The first failure aborts the others
 * (fail fast) and is rethrown once every started item has settled.
 */
export async function runConcurrently<T, R>(
  items: readonly T[],
  limit: number,
  cancellation: Cancellation,
  work: (item: T, cancellation: Cancellation, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  if (items.length === 0) return results;
  // Aborted with the parent — at once when it already was (e.g. during the map's items
  // expression): the items must not run unstopped — or by the first failing item.
  const { canceller, dispose } = Canceller.following(cancellation);
  let failure: unknown;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length && failure === undefined) {
      const index = next++;
      try {
        results[index] = await work(items[index]!, canceller, index);
      } catch (error) {
        if (failure === undefined) {
          failure = error;
          canceller.abort(new CancelledError('a sibling branch failed'));
        }
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  } finally {
    dispose();
  }
  if (failure !== undefined) throw failure;
  return results;
}
