/**
 * Who may write an execution's rows: the worker holding its lease, at this epoch (fencing token).
 * Its own module so the execution store and the signal store (which both take one) import it
 * without importing each other.
 */
export interface Lease {
  readonly executionId: string;
  readonly owner: string;
  readonly epoch: number;
}
