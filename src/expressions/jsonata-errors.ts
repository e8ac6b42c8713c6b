/**
 * JSONata throws plain objects `{ code, position, token, message }` (not Error instances).
 * These helpers turn them into ExpressionErrors that name the flow-file location, the
 * expression, JSONata's message, its code and the character position.
 */
import { ExpressionError } from '../errors.js';
import { getExpressionLimits } from './limits.js';
import { sizeError } from './result.js';

export interface JsonataErrorLike {
  readonly code?: string;
  readonly position?: number;
  readonly token?: string;
  readonly message?: string;
  readonly value?: unknown;
  /** `$eval` wraps the error of the expression it ran in D3121 and keeps the original here. */
  readonly error?: unknown;
}

function asJsonataError(error: unknown): JsonataErrorLike {
  if (error !== null && typeof error === 'object') return error; // every member is optional
  return { message: String(error) };
}

function describe(error: JsonataErrorLike): string {
  const parts: string[] = [];
  if (error.code !== undefined) parts.push(error.code);
  if (typeof error.position === 'number') parts.push(`at character ${error.position}`);
  const message = withoutValues(error);
  return parts.length === 0 ? message : `${message} (${parts.join(' ')})`;
}

/** Members of a JSONata error whose value its message template prints (`{{value}}`, `{{value2}}`, `{{exp}}`). */
const VALUE_MEMBERS = ['value', 'value2', 'exp'] as const;

/**
 * JSONata's message with the data it quotes replaced by its type: `$number(input.password)` fails
 * with "Unable to cast value to a number: (a string)", never the password itself. The message goes
 * into records, problem bodies and logs, which must not carry input values (SECURITY rule 6).
 * `$error()`/`$assert()` messages are the flow author's own words and stay as written.
 */
function withoutValues(error: JsonataErrorLike): string {
  let message = error.message ?? 'unknown error';
  if (error.code === 'D3137' || error.code === 'D3141') return message;
  const record = error as Record<string, unknown>;
  for (const member of VALUE_MEMBERS) {
    if (!(member in record)) continue;
    const printed = printedForm(record[member]);
    if (printed !== undefined && printed !== '' && message.includes(printed)) message = message.split(printed).join(typeName(record[member]));
  }
  return message;
}

function printedForm(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}

function typeName(value: unknown): string {
  if (value === null) return '(null)';
  if (Array.isArray(value)) return '(an array)';
  const type = typeof value;
  return type === 'object' ? '(an object)' : `(a ${type})`;
}

function details(error: JsonataErrorLike): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (error.code !== undefined) out['jsonataCode'] = error.code;
  if (typeof error.position === 'number') out['position'] = error.position;
  if (error.token !== undefined) out['token'] = error.token;
  return out;
}

/**
 * A JSONata syntax error at load: says "syntax error", where (line and character), JSONata's
 * message and code, and shows the expression with a caret under the offending token.
 */
export function syntaxError(error: unknown, source: string, where: string): ExpressionError {
  const e = asJsonataError(error);
  const index = offendingIndex(source, e);
  const lines = source.split('\n');
  let line = 0;
  let column = index;
  while (line < lines.length - 1 && column > lines[line]!.length) {
    column -= lines[line]!.length + 1;
    line += 1;
  }
  const at = lines.length > 1 ? `line ${line + 1}, character ${column + 1}` : `character ${column + 1}`;
  const code = e.code === undefined ? '' : ` (JSONata ${e.code})`;
  const message = `syntax error at ${at} of the expression: ${e.message ?? 'unknown error'}${code}\n    ${lines[line]}\n    ${' '.repeat(column)}^`;
  return new ExpressionError(`${where}: ${message}`, { where, expression: source }, { cause: error, details: details(e) });
}

/** JSONata's position is the character just after the offending token; an unexpected end points past the text. */
function offendingIndex(source: string, error: JsonataErrorLike): number {
  const position = typeof error.position === 'number' ? error.position : source.length;
  const token = error.token === undefined || error.token === '(end)' ? '' : String(error.token);
  const index = token === '' ? Math.min(position, source.trimEnd().length) : position - token.length;
  return Math.max(0, Math.min(index, source.length));
}

/** Codes JSONata raises when a sequence would pass the length we configured (or its own 1e7 range cap). */
const SEQUENCE_LIMIT_CODES = new Set(['D2014', 'D2015']);

export function evaluationError(error: unknown, source: string, where: string): ExpressionError {
  if (error instanceof ExpressionError) return error;
  let e = asJsonataError(error);
  // Look through $eval's wrapper so a sequence-limit hit inside $eval still reads as a size limit.
  let inner = e;
  while (inner.code === 'D3121' && inner.error !== undefined) inner = asJsonataError(inner.error);
  if (inner.code !== undefined && SEQUENCE_LIMIT_CODES.has(inner.code)) {
    const what =
      inner.code === 'D2014'
        ? `a range of ${String(inner.value)} items; JSONata allows at most 10000000`
        : `a sequence longer than ${getExpressionLimits().maxResultNodes} items`;
    const err = sizeError({ where, source }, what);
    return new ExpressionError(err.message, { where, expression: source }, { details: { limit: 'size', ...details(inner) } });
  }
  if (error instanceof Error && e.code === undefined) e = { message: `${error.name}: ${error.message}` };
  // No `cause`: JSONata's error object carries the offending value, and a logged cause would print it.
  return new ExpressionError(`${where}: expression "${source}" failed: ${describe(e)}`, { where, expression: source }, { details: details(e) });
}
