/**
 * Recognises expression strings in flow files: a string that is exactly `{% <jsonata> %}` is an
 * expression, any other string is a literal. Whitespace inside the delimiters is trimmed, and so
 * is whitespace around them (YAML block scalars add a trailing newline the author never sees).
 * A string that mixes literal text with `{% … %}` is a load error rather than a silent literal:
 * the author almost certainly meant string interpolation, which flowd does not do.
 */
import { ExpressionError } from '../errors.js';

const OPEN = '{%';
const CLOSE = '%}';

/** Returns the JSONata source inside the delimiters, or undefined when `value` is a plain literal. */
export function expressionSource(value: string, where: string): string | undefined {
  const open = value.indexOf(OPEN);
  if (open === -1) return undefined;
  const trimmed = value.trim();
  const whole = trimmed.startsWith(OPEN) && trimmed.endsWith(CLOSE) && trimmed.length >= OPEN.length + CLOSE.length;
  if (whole) {
    const inner = trimmed.slice(OPEN.length, trimmed.length - CLOSE.length);
    // "{% a %} and {% b %}" also starts and ends with the delimiters: it is two expressions, not one.
    const close = inner.indexOf(CLOSE);
    if (close !== -1 && inner.indexOf(OPEN, close) !== -1) throw mixedError(value, where);
    const source = inner.trim();
    if (source === '') {
      throw new ExpressionError(`${where}: empty expression "${value}"`, { where, expression: value });
    }
    return source;
  }
  if (trimmed.startsWith(OPEN)) {
    throw new ExpressionError(`${where}: expression "${value}" has no closing "%}"`, { where, expression: value });
  }
  if (value.indexOf(CLOSE, open + OPEN.length) !== -1) throw mixedError(value, where);
  return undefined;
}

function mixedError(value: string, where: string): ExpressionError {
  return new ExpressionError(
    `${where}: "${value}" mixes literal text with {% %} expressions; a value is either a literal or exactly one ` +
      `expression — build the string inside one expression with JSONata's & operator, e.g. "{% '/customers/' & input.id %}"`,
    { where, expression: value },
  );
}
