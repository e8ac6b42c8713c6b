import { TimeoutError } from '../errors.js';

/**
 * The work's outcome, or the abort's reason as soon as `signal` aborts: an adapter's call stops
 * waiting at its deadline even when the driver cannot be interrupted (the work goes on; `onAbort`
 * may drop or cancel it, and its later rejection is handled). Shared by every non-HTTP adapter.
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal, onAbort?: () => void): Promise<T> {
  if (signal.aborted) {
    work.catch(() => undefined);
    onAbort?.();
    return Promise.reject(abortReason(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const abort = (): void => {
      onAbort?.();
      reject(abortReason(signal));
    };
    signal.addEventListener('abort', abort, { once: true });
    void work
      .then(resolve, (error: unknown) => reject(error instanceof Error ? error : new Error(String(error))))
      .finally(() => signal.removeEventListener('abort', abort));
  });
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}

/**
 * Whether `signal` ended because the attempt ran out of time (not a cancellation or the flow's
 * deadline): a connection that left a request unanswered that long is suspect (a frozen peer, a
 * half-open TCP connection), and the next attempt should not wait on it again.
 */
export function attemptTimedOut(signal: AbortSignal): boolean {
  return signal.reason instanceof TimeoutError && signal.reason.scope === 'attempt';
}
