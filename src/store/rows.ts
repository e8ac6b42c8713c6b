import type { ExecutionRecord, ExecutionStatus } from '../engine/record.js';
import { decodeValue, type ClaimedExecution, type StoredOptions, type StoredPhaseOutputs } from './execution-store.js';

/** An execution row as both SQL stores return it from a claim. */
export interface ClaimedRow {
  id: string;
  flow: string;
  flow_hash: string;
  input: string | null;
  options: string | null;
  record: string;
  parent_id: string | null;
  lease_epoch: number | string;
  attempts: number | string;
  /** 0/1 in SQLite, boolean in PostgreSQL. */
  cancel_requested: number | boolean;
}

/** The record column, with the status column (the authority) applied. */
export function toRecord(row: { status: ExecutionStatus; record: string }): ExecutionRecord {
  const record = JSON.parse(row.record) as ExecutionRecord;
  record.status = row.status;
  return record;
}

type SavedCheckpoint = { key: string; output: string | null; request: string | null };

export function phaseOutputs(saved: readonly SavedCheckpoint[]): StoredPhaseOutputs {
  const checkpoints = new Map<string, unknown>();
  const compensationRequests = new Map<string, unknown>();
  for (const checkpoint of saved) {
    checkpoints.set(checkpoint.key, decodeValue(checkpoint.output));
    if (checkpoint.request !== null) compensationRequests.set(checkpoint.key, decodeValue(checkpoint.request));
  }
  return { checkpoints, compensationRequests };
}

export function claimedFrom(row: ClaimedRow, owner: string, saved: readonly SavedCheckpoint[]): ClaimedExecution {
  const { checkpoints, compensationRequests } = phaseOutputs(saved);
  return {
    lease: { executionId: row.id, owner, epoch: Number(row.lease_epoch) },
    flow: row.flow,
    flowHash: row.flow_hash,
    input: decodeValue(row.input),
    options: row.options === null ? {} : (JSON.parse(row.options) as StoredOptions),
    parentId: row.parent_id ?? undefined,
    attempts: Number(row.attempts),
    cancelRequested: row.cancel_requested === true || row.cancel_requested === 1,
    record: toRecord({ status: 'running', record: row.record }),
    checkpoints,
    compensationRequests,
  };
}
