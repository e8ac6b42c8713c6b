import type { FlowLogger } from '../logger.js';
import type { LogLevel } from './entries.js';
import type { Journal } from './journal.js';

const CAPTURED: ReadonlySet<LogLevel> = new Set(['info', 'warn', 'error', 'fatal']);

/**
 * The logger an execution hands to adapters and middleware: each line at `info` or above goes to
 * the journal (served by `GET /executions/{id}/logs`, whatever LOG_LEVEL says), and to the process
 * log when its level is enabled there. Child loggers add bindings to both; the process logger's
 * child is only made when a line is written to it.
 */
export class JournalLogger implements FlowLogger {
  readonly #journal: Journal;
  readonly #parent: FlowLogger | (() => FlowLogger);
  /** This logger's own bindings, and its parent's (merged when a line is first written: most loggers write none). */
  readonly #own: Readonly<Record<string, unknown>> | undefined;
  readonly #inherited: JournalLogger | undefined;
  #bindings: Readonly<Record<string, unknown>> | undefined;
  #out: FlowLogger | undefined;

  constructor(journal: Journal, out: FlowLogger | (() => FlowLogger), own?: Readonly<Record<string, unknown>>, inherited?: JournalLogger) {
    this.#journal = journal;
    this.#parent = out;
    this.#own = own;
    this.#inherited = inherited;
  }

  get #target(): FlowLogger {
    this.#out ??= typeof this.#parent === 'function' ? this.#parent() : this.#parent;
    return this.#out;
  }

  get #merged(): Readonly<Record<string, unknown>> {
    if (this.#bindings === undefined) {
      const merged: Record<string, unknown> = {};
      const inherited = this.#inherited === undefined ? undefined : this.#inherited.#merged;
      if (inherited !== undefined) for (const key of Object.keys(inherited)) merged[key] = inherited[key];
      if (this.#own !== undefined) for (const key of Object.keys(this.#own)) if (key !== '__proto__') merged[key] = this.#own[key];
      this.#bindings = merged;
    }
    return this.#bindings;
  }

  child(bindings: Record<string, unknown>): FlowLogger {
    return new JournalLogger(this.#journal, () => this.#target.child(bindings), bindings, this);
  }

  isLevelEnabled(level: string): boolean {
    return CAPTURED.has(level as LogLevel) || (this.#target.isLevelEnabled?.(level) ?? true);
  }

  trace(obj: object, msg?: string): void {
    this.#write('trace', obj, msg);
  }

  debug(obj: object, msg?: string): void {
    this.#write('debug', obj, msg);
  }

  info(obj: object, msg?: string): void {
    this.#write('info', obj, msg);
  }

  warn(obj: object, msg?: string): void {
    this.#write('warn', obj, msg);
  }

  error(obj: object, msg?: string): void {
    this.#write('error', obj, msg);
  }

  #write(level: LogLevel, obj: object, msg: string | undefined): void {
    const target = this.#target;
    if (target.isLevelEnabled?.(level) ?? true) target[level as 'info'].call(target, obj, msg);
    if (!CAPTURED.has(level)) return;
    const fields: Record<string, unknown> = {};
    const bindings = this.#merged;
    for (const key of Object.keys(bindings)) fields[key] = bindings[key];
    for (const key of Object.keys(obj)) if (key !== '__proto__') fields[key] = serialize((obj as Record<string, unknown>)[key]);
    this.#journal.log(level, msg ?? '', fields);
  }
}

/** Errors become plain data (type, message, code): the journal keeps values, not live objects. */
function serialize(value: unknown): unknown {
  if (!(value instanceof Error)) return value;
  const code = (value as { code?: unknown }).code;
  return code === undefined ? { type: value.name, message: value.message } : { type: value.name, message: value.message, code };
}
