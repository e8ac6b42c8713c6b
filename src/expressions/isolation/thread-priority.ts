import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

/** Nice value of expression worker threads: below the main thread, which serves every request. */
export const WORKER_NICE = 10;

/**
 * Lowers the priority of the calling thread (Linux only: elsewhere nothing happens). On Linux the
 * nice value is per thread, and `/proc/thread-self` names this thread's id, so a busy expression
 * worker never takes a CPU core from the event loop thread on a small machine.
 */
export function lowerThreadPriority(nice: number = WORKER_NICE): boolean {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isInteger(tid) || tid <= 0) return false;
    setPriority(tid, nice);
    return true;
  } catch {
    return false;
  }
}
