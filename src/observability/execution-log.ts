import type { FlowLogger } from '../engine/logger.js';
import type { SecretStore } from '../flows/secrets.js';
import type { ExecutionLogEntry } from '../store/execution-store.js';

type Level = ExecutionLogEntry['level'];
export type LogSink = (executionId: string, entry: ExecutionLogEntry) => void;

const LEVELS: Record<Level, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

/**
 * A FlowLogger that writes to pino and, for lines bound to an execution, also hands a copy
 * to `sink` (the execution's log, served by `GET /executions/{id}/logs`).
 */
export class CapturingLogger implements FlowLogger {
  readonly #pino: FlowLogger;
  readonly #bindings: Record<string, unknown>;
  readonly #sink: LogSink;
  readonly #secrets: SecretStore;
  readonly #minLevel: number;

  constructor(pinoLogger: FlowLogger, sink: LogSink, secrets: SecretStore, options: { captureLevel?: Level; bindings?: Record<string, unknown> } = {}) {
    this.#pino = pinoLogger;
    this.#sink = sink;
    this.#secrets = secrets;
    this.#bindings = options.bindings ?? {};
    this.#minLevel = LEVELS[options.captureLevel ?? 'info'];
  }

  child(bindings: Record<string, unknown>): FlowLogger {
    return new CapturingLogger(this.#pino.child(bindings), this.#sink, this.#secrets, {
      bindings: { ...this.#bindings, ...bindings },
      captureLevel: levelName(this.#minLevel),
    });
  }

  trace(obj: object, msg?: string): void {
    this.#pino.trace(obj, msg);
    this.#capture('trace', obj, msg);
  }

  debug(obj: object, msg?: string): void {
    this.#pino.debug(obj, msg);
    this.#capture('debug', obj, msg);
  }

  info(obj: object, msg?: string): void {
    this.#pino.info(obj, msg);
    this.#capture('info', obj, msg);
  }

  warn(obj: object, msg?: string): void {
    this.#pino.warn(obj, msg);
    this.#capture('warn', obj, msg);
  }

  error(obj: object, msg?: string): void {
    this.#pino.error(obj, msg);
    this.#capture('error', obj, msg);
  }

  #capture(level: Level, obj: object, msg: string | undefined): void {
    if (LEVELS[level] < this.#minLevel) return;
    const executionId = this.#bindings['executionId'];
    if (typeof executionId !== 'string') return;
    const fields: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(obj)) fields[key] = key === 'err' ? serializeError(value) : value;
    const entry: ExecutionLogEntry = {
      ...this.#bindings,
      ...fields,
      time: new Date().toISOString(),
      level,
      msg: msg ?? '',
    };
    this.#sink(executionId, this.#secrets.mask(entry));
  }
}

function levelName(value: number): Level {
  return (Object.entries(LEVELS).find(([, n]) => n === value)?.[0] as Level | undefined) ?? 'info';
}

function serializeError(value: unknown): unknown {
  if (!(value instanceof Error)) return value;
  const code = (value as { code?: unknown }).code;
  return { type: value.name, message: value.message, ...(code === undefined ? {} : { code }) };
}
