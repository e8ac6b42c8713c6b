/** The logging surface the engine needs; pino's Logger satisfies it. */
export interface FlowLogger {
  child(bindings: Record<string, unknown>): FlowLogger;
  trace(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  /** Whether a line at this level would be written (pino's); assumed true when absent. */
  isLevelEnabled?(level: string): boolean;
}

const noop = (): void => {};

export const silentLogger: FlowLogger = {
  child: () => silentLogger,
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
};
