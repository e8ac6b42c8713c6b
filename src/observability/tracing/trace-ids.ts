import { RandomIdGenerator, type IdGenerator } from '@opentelemetry/sdk-trace-base';

const UUID = /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/;

/**
 * The trace id of an execution that no caller traced: its execution id (a UUID) as 32 hex digits,
 * so every run of it — also one resumed by another process — lands in the same trace, and the
 * trace is found by the execution id. Undefined for an id that is not a UUID (then a random one).
 */
export function traceIdOfExecution(executionId: string): string | undefined {
  const match = UUID.exec(executionId.toLowerCase());
  if (match === null) return undefined;
  const hex = match.slice(1).join('');
  return /^0+$/.test(hex) ? undefined : hex;
}

/** Random ids, except the trace id of the next root span when one is set (an execution's own). */
export class ExecutionIdGenerator implements IdGenerator {
  readonly #random = new RandomIdGenerator();
  #next: string | undefined;

  /** The trace id the next root span gets (read once, synchronously, by the span started next). */
  useNext(traceId: string | undefined): void {
    this.#next = traceId;
  }

  generateTraceId(): string {
    const next = this.#next;
    this.#next = undefined;
    return next ?? this.#random.generateTraceId();
  }

  generateSpanId(): string {
    return this.#random.generateSpanId();
  }
}
