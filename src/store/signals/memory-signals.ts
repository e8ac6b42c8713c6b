import type { ExecutionStatus } from '../../engine/record.js';
import { TERMINAL, lostLease, type Lease } from '../execution-store.js';
import type { CallbackOutcome, CallbackRegistration, FoundCallback, NewSignal, SignalOutcome, SignalStore, TakenSignal } from './signal-store.js';

const TERMINAL_SET: ReadonlySet<string> = new Set(TERMINAL);

/** What the memory signal store needs of the execution it belongs to. */
export interface MemoryExecutionView {
  status: ExecutionStatus;
  leaseEpoch: number;
  wakeAt: number | undefined;
  /** The signal its wait takes (Suspension.signal). */
  readonly waitingSignal: string | undefined;
}

interface Signal extends TakenSignal {
  readonly idempotencyKey: string | undefined;
  takenBy: string | undefined;
}

/** The signal store of the memory execution store (same contract as SQLite and PostgreSQL). */
export class MemorySignals implements SignalStore {
  readonly #signals = new Map<string, Signal[]>();
  readonly #callbacks = new Map<string, CallbackRegistration & { used: boolean }>();
  readonly #execution: (executionId: string) => MemoryExecutionView | undefined;
  readonly #clock: () => number;
  #next = 1;

  constructor(execution: (executionId: string) => MemoryExecutionView | undefined, clock: () => number) {
    this.#execution = execution;
    this.#clock = clock;
  }

  async deliver(signal: NewSignal): Promise<SignalOutcome> {
    return this.#deliver(signal);
  }

  #deliver(signal: NewSignal): SignalOutcome {
    const execution = this.#execution(signal.executionId);
    if (execution === undefined) return { kind: 'not_found' };
    const list = this.#signals.get(signal.executionId) ?? [];
    if (signal.idempotencyKey !== undefined) {
      // Before the status: a retried delivery counted before the execution ended is a duplicate, not too late.
      const same = list.find((stored) => stored.name === signal.name && stored.idempotencyKey === signal.idempotencyKey);
      if (same !== undefined) return { kind: 'duplicate', signalId: same.signalId, status: execution.status };
    }
    if (TERMINAL_SET.has(execution.status)) return { kind: 'ended', status: execution.status };
    if (signal.maxPending !== undefined) {
      const pending = list.filter((stored) => stored.takenBy === undefined && stored.name === signal.name).length;
      if (pending >= signal.maxPending) return { kind: 'full', pending };
    }
    const stored: Signal = { signalId: String(this.#next++), name: signal.name, payload: signal.payload, receivedAt: this.#clock(), idempotencyKey: signal.idempotencyKey, takenBy: undefined };
    list.push(stored);
    this.#signals.set(signal.executionId, list);
    // Only the signal its wait takes wakes a waiting execution; one for a later wait is kept for it.
    if (execution.status === 'waiting' && execution.waitingSignal === signal.name) execution.wakeAt = this.#clock();
    return { kind: 'delivered', signalId: stored.signalId, status: execution.status };
  }

  async take(lease: Lease, name: string, waitKey: string): Promise<TakenSignal | undefined> {
    this.#held(lease, 'taking a signal');
    const list = this.#signals.get(lease.executionId) ?? [];
    const signal = list.find((stored) => stored.takenBy === waitKey && stored.name === name) ?? list.find((stored) => stored.takenBy === undefined && stored.name === name);
    if (signal === undefined) return undefined;
    signal.takenBy = waitKey;
    return { signalId: signal.signalId, name: signal.name, payload: signal.payload, receivedAt: signal.receivedAt };
  }

  async registerCallback(lease: Lease, registration: CallbackRegistration): Promise<void> {
    this.#held(lease, 'registering a callback');
    for (const [hash, existing] of this.#callbacks) {
      if (existing.executionId === registration.executionId && existing.waitKey === registration.waitKey) this.#callbacks.delete(hash);
    }
    this.#callbacks.set(registration.tokenHash, { ...registration, used: false });
  }

  async findCallback(tokenHash: string): Promise<FoundCallback | undefined> {
    const registration = this.#callbacks.get(tokenHash);
    if (registration === undefined) return undefined;
    const state = registration.used ? 'used' : registration.expiresAt <= this.#clock() ? 'expired' : 'usable';
    return { executionId: registration.executionId, waitKey: registration.waitKey, state };
  }

  async useCallback(tokenHash: string, payload: string): Promise<CallbackOutcome> {
    const registration = this.#callbacks.get(tokenHash);
    if (registration === undefined) return { kind: 'not_found' };
    const { executionId } = registration;
    if (registration.used) return { kind: 'used', executionId };
    if (registration.expiresAt <= this.#clock()) return { kind: 'expired', executionId };
    const delivered = this.#deliver({ executionId, name: registration.signal, payload });
    if (delivered.kind === 'not_found') return { kind: 'not_found' };
    if (delivered.kind === 'ended') return { kind: 'ended', executionId };
    registration.used = true;
    return { kind: 'delivered', executionId };
  }

  /** An untaken signal of that name is stored for the execution (a suspension waiting for it wakes at once). */
  pending(executionId: string, name: string | undefined): boolean {
    return name !== undefined && (this.#signals.get(executionId) ?? []).some((signal) => signal.takenBy === undefined && signal.name === name);
  }

  /** The execution is gone (purged, evicted). */
  forget(executionId: string): void {
    this.#signals.delete(executionId);
    for (const [hash, registration] of this.#callbacks) if (registration.executionId === executionId) this.#callbacks.delete(hash);
  }

  #held(lease: Lease, write: string): void {
    const execution = this.#execution(lease.executionId);
    if (execution === undefined || execution.status !== 'running' || execution.leaseEpoch !== lease.epoch) throw lostLease(write, lease);
  }
}
