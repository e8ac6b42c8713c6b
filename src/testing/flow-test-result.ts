import type { CallSite } from './mocks.js';
import type { CompensationRecord, ErrorSummary, ExecutionRecord, ExecutionStatus, PhaseRecord } from '../engine/record.js';

/** One call that reached a component (mocked or real) during a test run. */
export interface ComponentCall extends CallSite {
  /** true when a mock answered; false when the real component did. */
  readonly mocked: boolean;
  /** The error code when the call failed. */
  readonly errorCode?: string | undefined;
}

/**
 * The outcome of one test run, shaped for assertions: the seed's `result.success`,
 * `result.error_handled`, `result.fallback_executed`, `result.execution_time` as camelCase fields,
 * plus the full execution record and helpers to look at phases and calls.
 */
export class FlowTestResult {
  readonly record: ExecutionRecord;
  readonly status: ExecutionStatus;
  /** The flow itself succeeded (a recovered execution is not a success: see `recovered`). */
  readonly success: boolean;
  /** A fallback, a compensation or a recovery flow dealt with a failure. */
  readonly errorHandled: boolean;
  readonly fallbackExecuted: boolean;
  /** A recovery flow produced the output (the HTTP API answers 200). */
  readonly recovered: boolean;
  readonly output: unknown;
  readonly error: ErrorSummary | undefined;
  /** Milliseconds from start to final status. */
  readonly executionTime: number;
  readonly compensations: readonly CompensationRecord[];
  /** Every execution of this run: this one first, then sub-flows, recovery and triggered flows that finished. */
  readonly executions: readonly ExecutionRecord[];
  readonly #calls: readonly ComponentCall[];

  constructor(record: ExecutionRecord, executions: readonly ExecutionRecord[], calls: readonly ComponentCall[]) {
    this.record = record;
    this.status = record.status;
    this.success = record.status === 'succeeded';
    this.errorHandled = record.errorHandled;
    this.fallbackExecuted = record.fallbackExecuted;
    this.recovered = record.recovered;
    this.output = record.output;
    this.error = record.error;
    this.executionTime = record.durationMs ?? 0;
    this.compensations = record.compensations ?? [];
    this.executions = [record, ...executions.filter((other) => other.executionId !== record.executionId)];
    this.#calls = calls;
  }

  /** The execution's id (to send it a signal, answer its callback). */
  get executionId(): string {
    return this.record.executionId;
  }

  /** While `waiting`: the wait phase it stopped at, what for and until when. */
  get waiting(): ExecutionRecord['waiting'] {
    return this.record.waiting;
  }

  /** The seed's `result.data`. */
  get data(): unknown {
    return this.output;
  }

  /** The record of phase `id` (the first one, or the one of map item `index`). Throws when it did not run. */
  phase(id: string, index?: number): PhaseRecord {
    const found = this.record.phases.find((phase) => phase.id === id && (index === undefined || phase.index === index));
    if (found === undefined) {
      const ran = [...new Set(this.record.phases.map((phase) => phase.id))].join(', ') || 'none';
      throw new Error(`phase "${id}"${index === undefined ? '' : ` (item ${index})`} did not run in ${this.record.flow} (phases that ran: ${ran})`);
    }
    return found;
  }

  /** Every record of phase `id` (one per map item or loop pass), or every phase record. */
  phases(id?: string): PhaseRecord[] {
    return this.record.phases.filter((phase) => id === undefined || phase.id === id);
  }

  /** Whether phase `id` ran at all. */
  ran(id: string): boolean {
    return this.record.phases.some((phase) => phase.id === id);
  }

  /** Calls that reached components during this run (sub-flows included), optionally of one component. */
  calls(component?: string): ComponentCall[] {
    return this.#calls.filter((call) => component === undefined || call.component === component);
  }

  /** The first execution of `flow` in this run (a sub-flow, the recovery flow…). */
  execution(flow: string): ExecutionRecord | undefined {
    return this.executions.find((record) => record.flow === flow);
  }

  /** A readable summary for assertion messages. */
  toString(): string {
    const lines = [`${this.record.flow} ${this.status}${this.recovered ? ' (recovered)' : ''} in ${this.executionTime} ms`];
    if (this.error !== undefined) lines.push(`  error: ${this.error.code} in ${this.error.phase ?? '?'}: ${this.error.message}`);
    for (const phase of this.record.phases) {
      const flags = [phase.cached === true ? 'cached' : '', phase.fallback === true ? 'fallback' : '', phase.restored === true ? 'restored' : ''].filter((f) => f !== '');
      lines.push(`  ${phase.id}${phase.index === undefined ? '' : `#${phase.index}`}: ${phase.status}, ${phase.attempts} attempt(s)${flags.length > 0 ? `, ${flags.join(', ')}` : ''}`);
    }
    return lines.join('\n');
  }
}
