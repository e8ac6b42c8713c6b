import type { ExecutionStatus } from '../../engine/record.js';
import type { Lease } from '../lease.js';

/** What a waiting execution waits for (docs/waits.md). */
export const WAIT_REASONS = ['time', 'signal', 'callback'] as const;
export type WaitReason = (typeof WAIT_REASONS)[number];

/** How a run that stops to wait is stored: its summary says `waiting` until `wakeAt` (store clock, ms). */
export interface Suspension {
  readonly wakeAt: number;
  readonly waitingFor: WaitReason;
  /**
   * The signal the wait takes (a callback's is `callback:<key>`); none for a time wait. Only an
   * untaken signal of this name wakes the execution early: one kept for a later wait does not.
   */
  readonly signal?: string | undefined;
}

/** A signal sent to an execution (`POST /executions/{id}/signals/{name}`, or a callback). */
export interface NewSignal {
  readonly executionId: string;
  readonly name: string;
  /** JSON text of the payload (validated against the wait's schema before it is stored). */
  readonly payload: string;
  /** Duplicate deliveries with the same key (per execution and name) count once. */
  readonly idempotencyKey?: string | undefined;
  /** Refused (`full`) when the execution holds this many signals of this name not taken yet (SIGNAL_MAX_PENDING). */
  readonly maxPending?: number | undefined;
}

export type SignalOutcome =
  /** Stored (and the execution woken when it was waiting). */
  | { readonly kind: 'delivered'; readonly signalId: string; readonly status: ExecutionStatus }
  /** The same idempotency key was delivered already: nothing stored again. */
  | { readonly kind: 'duplicate'; readonly signalId: string; readonly status: ExecutionStatus }
  /** The execution has ended: nothing stored. */
  | { readonly kind: 'ended'; readonly status: ExecutionStatus }
  /** It holds `maxPending` signals not taken yet: nothing stored. */
  | { readonly kind: 'full'; readonly pending: number }
  | { readonly kind: 'not_found' };

/** A signal a wait took: it is the wait's, for good (a resumed run takes the same one again). */
export interface TakenSignal {
  readonly signalId: string;
  readonly name: string;
  readonly payload: string;
  /** Store clock, ms. */
  readonly receivedAt: number;
}

/** What `findCallback` knows of a token. */
export interface FoundCallback {
  readonly executionId: string;
  readonly waitKey: string;
  readonly state: 'usable' | 'used' | 'expired';
}

/** A single-use callback token of one wait (only its SHA-256 is stored). */
export interface CallbackRegistration {
  readonly tokenHash: string;
  readonly executionId: string;
  /** The wait it answers (its checkpoint key); a new token for the same wait replaces the old one. */
  readonly waitKey: string;
  /** The signal name the callback is delivered as. */
  readonly signal: string;
  /** Store clock, ms: unusable after. */
  readonly expiresAt: number;
}

export type CallbackOutcome =
  | { readonly kind: 'delivered'; readonly executionId: string }
  /** Used once already. */
  | { readonly kind: 'used'; readonly executionId: string }
  | { readonly kind: 'expired'; readonly executionId: string }
  /** The wait it answers is over (the execution ended). */
  | { readonly kind: 'ended'; readonly executionId: string }
  | { readonly kind: 'not_found' };

/**
 * Signals and callback tokens of waiting executions. Kept apart from the journal: a signal may
 * arrive before the execution reaches its wait (it is kept until taken), and the wait that takes
 * it writes it to its journal. Taking is by the wait's checkpoint key, so a run that crashed after
 * taking a signal and before writing it takes the same signal again on resume, never a second one.
 */
export interface SignalStore {
  /**
   * Stores a signal for an execution that has not ended; wakes it at once (wake_at = now) when it
   * is waiting. Checked and written in one transaction with the execution's row locked, so a signal
   * racing a suspension is never left unseen (see ExecutionStore.suspend).
   */
  deliver(signal: NewSignal): Promise<SignalOutcome>;
  /**
   * The signal `name` taken by wait `waitKey` already, else the oldest one not taken yet (now taken
   * by `waitKey`); undefined when there is none. Fenced by the lease (LeaseLostError).
   */
  take(lease: Lease, name: string, waitKey: string): Promise<TakenSignal | undefined>;
  /** Registers (or replaces, for the same wait) a callback token. Fenced by the lease. */
  registerCallback(lease: Lease, registration: CallbackRegistration): Promise<void>;
  /**
   * The registration of a token, to check a callback before it is used: `usable` unless it was
   * used already or its wait timed out (store clock) — `useCallback` decides again, atomically.
   */
  findCallback(tokenHash: string): Promise<FoundCallback | undefined>;
  /**
   * Uses a callback token once: delivers `payload` as the registration's signal and marks the
   * token used, in one transaction. A used, expired or unknown token delivers nothing.
   */
  useCallback(tokenHash: string, payload: string): Promise<CallbackOutcome>;
}

/** Waiting executions, by flow and reason (the `flowd_executions_waiting` gauge). */
export interface WaitingCount {
  readonly flow: string;
  readonly waitingFor: WaitReason;
  readonly count: number;
}
