import { CancelledError } from '../../errors.js';

/**
 * Runs `work` for each item with at most `limit` at once. The first failure aborts the others
 * (fail fast) and is rethrown once every started item has settled.
 */
export async function runConcurrently<T, R>(
  items: readonly T[],
  limit: number,
  signal: AbortSignal,
  work: (item: T, signal: AbortSignal, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  if (items.length === 0) return results;
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(signal.reason);
  // Already aborted (e.g. during the map's items expression): the items must not run unstopped.
  if (signal.aborted) controller.abort(signal.reason);
  else signal.addEventListener('abort', onAbort, { once: true });
  let failure: unknown;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length && failure === undefined) {
      const index = next++;
      try {
        results[index] = await work(items[index]!, controller.signal, index);
      } catch (error) {
        if (failure === undefined) {
          failure = error;
          controller.abort(new CancelledError('a sibling branch failed'));
        }
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  if (failure !== undefined) throw failure;
  return results;
}
