import { isoTime } from '../engine/iso-time.js';
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
  /** The pino logger, or how to make it: child loggers are created on first use only. */
  #pino: FlowLogger | undefined;
  readonly #parent: CapturingLogger | undefined;
  readonly #ownBindings: Record<string, unknown> | undefined;
  readonly #bindings: Record<string, unknown>;
  readonly #sink: LogSink;
  readonly #secrets: SecretStore;
  #minLevel: number;
  /** Whether pino would write a line at this level; lines it would drop skip pino entirely. */
  readonly #enabled: (level: Level) => boolean;

  constructor(
    pinoLogger: FlowLogger | undefined,
    sink: LogSink,
    secrets: SecretStore,
    options: {
      captureLevel?: Level;
      bindings?: Record<string, unknown>;
      parent?: CapturingLogger;
      ownBindings?: Record<string, unknown>;
      isLevelEnabled?: (level: Level) => boolean;
    } = {},
  ) {
    this.#enabled = options.isLevelEnabled ?? (() => true);
    this.#pino = pinoLogger;
    this.#parent = options.parent;
    this.#ownBindings = options.ownBindings;
    this.#sink = sink;
    this.#secrets = secrets;
    this.#bindings = options.bindings ?? {};
    this.#minLevel = LEVELS[options.captureLevel ?? 'info'];
  }

  // An execution makes a child per phase and per attempt; most never log a line, so the pino
  // child (a serializer and bindings string each) is only built when one does.
  get #target(): FlowLogger {
    this.#pino ??= this.#parent!.#target.child(this.#ownBindings ?? {});
    return this.#pino;
  }

  child(bindings: Record<string, unknown>): FlowLogger {
    const child = new CapturingLogger(undefined, this.#sink, this.#secrets, {
      parent: this,
      ownBindings: bindings,
      bindings: copyFields(copyFields({}, this.#bindings), bindings),
      isLevelEnabled: this.#enabled,
    });
    child.#minLevel = this.#minLevel;
    return child;
  }

  trace(obj: object, msg?: string): void {
    if (this.#enabled('trace')) this.#target.trace(obj, msg);
    this.#capture('trace', obj, msg);
  }

  debug(obj: object, msg?: string): void {
    if (this.#enabled('debug')) this.#target.debug(obj, msg);
    this.#capture('debug', obj, msg);
  }

  info(obj: object, msg?: string): void {
    if (this.#enabled('info')) this.#target.info(obj, msg);
    this.#capture('info', obj, msg);
  }

  warn(obj: object, msg?: string): void {
    if (this.#enabled('warn')) this.#target.warn(obj, msg);
    this.#capture('warn', obj, msg);
  }

  error(obj: object, msg?: string): void {
    if (this.#enabled('error')) this.#target.error(obj, msg);
    this.#capture('error', obj, msg);
  }

  #capture(level: Level, obj: object, msg: string | undefined): void {
    if (LEVELS[level] < this.#minLevel) return;
    const bindings = this.#bindings;
    const executionId = bindings['executionId'];
    if (typeof executionId !== 'string') return;
    const entry = copyFields(copyFields({}, bindings), obj as Record<string, unknown>) as ExecutionLogEntry;
    if (entry['err'] !== undefined) entry['err'] = serializeError(entry['err']);
    entry.time = isoTime(Date.now());
    entry.level = level;
    entry.msg = msg ?? '';
    this.#sink(executionId, this.#secrets.mask(entry));
  }
}

/**
 * Copies `source`'s own fields onto `target` by assignment (an object spread into a literal with
 * other fields takes a slow path in V8, several µs a line); `__proto__` is skipped, never a prototype.
 */
function copyFields(target: Record<string, unknown>, source: Record<string, unknown>): Record<string, unknown> {
  for (const key of Object.keys(source)) if (key !== '__proto__') target[key] = source[key];
  return target;
}

function serializeError(value: unknown): unknown {
  if (!(value instanceof Error)) return value;
  const code = (value as { code?: unknown }).code;
  return { type: value.name, message: value.message, ...(code === undefined ? {} : { code }) };
}
