import { pino, type Logger, type LoggerOptions } from 'pino';
import pinoPretty from 'pino-pretty';
import type { SecretStore } from '../flows/secrets.js';
import { createSensitiveFieldMatcher, redactSensitiveLogLine } from './sensitive-fields.js';

/** Header and field names whose values never reach a log line. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  '*.password',
  '*.token',
  '*.secret',
  '*.apiKey',
  '*.api_key',
];

export interface RootLoggerOptions {
  level: string;
  /** 'auto': pretty only when stdout is a terminal. */
  pretty: 'auto' | 'true' | 'false';
  secrets: SecretStore;
  /** Extra field names whose values are redacted at any depth (REDACT_FIELDS), besides the built-in ones. */
  redactFields?: readonly string[];
  /** Where lines go; default stdout. Tests pass a stream to capture lines. */
  destination?: NodeJS.WritableStream;
}

/**
 * pino JSON to stdout, one line per event. Secrets are masked twice: by key (redact paths) and
 * by value on every line written (hooks.streamWrite), since key-based redaction alone has leaked
 * secrets elsewhere.
 */
export function createRootLogger(options: RootLoggerOptions): Logger {
  const isSensitive = createSensitiveFieldMatcher(options.redactFields);
  const pretty = options.pretty === 'true' || (options.pretty === 'auto' && process.stdout.isTTY === true && options.destination === undefined);
  const config: LoggerOptions = {
    level: options.level,
    base: { service: 'flowd' },
    redact: { paths: REDACTED_PATHS, censor: '[REDACTED]' },
    // By value (configured secrets) and by field name at any depth (password, token, card number…).
    hooks: { streamWrite: (line) => redactSensitiveLogLine(options.secrets.maskText(line), isSensitive) },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (pretty) {
    // In this thread (a transport's worker cannot take functions): problems are shown as written,
    // one per line with their carets under the expression, not as JSON strings with `\n` in them.
    const stream = pinoPretty({
      colorize: options.destination === undefined && process.stdout.isTTY === true,
      // Synchronous to stdout, so the last lines before an exit are not lost (pretty logs are for people, not for throughput).
      ...(options.destination === undefined ? { sync: true } : { destination: options.destination }),
      customPrettifiers: { problems: prettyProblems },
    });
    return pino(config, stream);
  }
  return options.destination === undefined ? pino(config) : pino(config, options.destination);
}

/** `problems` of a rejected reload (one string per problem, some over several lines), for a terminal. */
function prettyProblems(value: string | object): string {
  const problems = Array.isArray(value) ? value.map(String) : [typeof value === 'string' ? value : JSON.stringify(value)];
  return problems.map((problem) => `\n    - ${problem.replaceAll('\n', '\n      ')}`).join('');
}
