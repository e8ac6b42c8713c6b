/** Who may write an execution's rows: the worker holding its lease, at this epoch (fencing token). */
export interface Lease {
  readonly executionId: string;
  readonly owner: string;
  readonly epoch: number;
}
