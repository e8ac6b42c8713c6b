// Starts an expression worker from the TypeScript sources (tests, `tsx`): registers tsx's loader in
// this thread, then imports the entry named in workerData. A built install runs the compiled
// evaluation-worker.js directly and never loads this file.
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

// As thread-priority.ts does, before the TypeScript compiler runs in this thread.
try {
  setPriority(Number(readlinkSync('/proc/thread-self').split('/').pop()), 10);
} catch {
  // not Linux
}
register();
await import(workerData.entry);
