/**
 * Named parameters in SQL text: `:name` is a placeholder wherever the text is SQL, never inside a
 * string literal, a quoted identifier, a comment or a PostgreSQL dollar-quoted body; `::` (a
 * PostgreSQL cast) is not one. The text is parsed once, at load; each call binds values, never
 * splices them.
 */
export interface ParsedStatement {
  /** The declared text with placeholders in the driver's form: `$1, $2…` (PostgreSQL) or `?` (MySQL). */
  readonly text: string;
  /** The parameter named at each placeholder, in order (a name used twice appears twice). */
  readonly order: readonly string[];
  /** Each distinct parameter name, in order of first use. */
  readonly names: readonly string[];
}

export type Dialect = 'postgres' | 'mysql';

const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;

export function parseStatement(sql: string, dialect: Dialect): ParsedStatement {
  let out = '';
  const order: string[] = [];
  const indexOf = new Map<string, number>();
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    const skipped = skipQuoted(sql, i, dialect);
    if (skipped > i) {
      out += sql.slice(i, skipped);
      i = skipped;
      continue;
    }
    if (c === ':' && sql[i + 1] === ':') {
      out += '::';
      i += 2;
      continue;
    }
    if (c === ':') {
      NAME.lastIndex = i + 1;
      const match = NAME.exec(sql);
      if (match !== null) {
        const name = match[0];
        order.push(name);
        if (dialect === 'postgres') {
          // The same name binds the same $n, so PostgreSQL sees one parameter with one type.
          let n = indexOf.get(name);
          if (n === undefined) indexOf.set(name, (n = indexOf.size + 1));
          out += `$${n}`;
        } else {
          out += '?';
        }
        i += 1 + name.length;
        continue;
      }
    }
    out += c;
    i++;
  }
  const names = [...new Set(order)];
  return { text: out, order: dialect === 'postgres' ? names : order, names };
}

/** The index just past a quoted or commented span starting at `i`, or `i` when none starts there. */
function skipQuoted(sql: string, i: number, dialect: Dialect): number {
  const c = sql[i];
  if (c === "'" || c === '"' || (c === '`' && dialect === 'mysql')) return closeQuote(sql, i, c, dialect === 'mysql');
  if (c === '-' && sql[i + 1] === '-') return lineEnd(sql, i);
  if (c === '#' && dialect === 'mysql') return lineEnd(sql, i);
  if (c === '/' && sql[i + 1] === '*') {
    const end = sql.indexOf('*/', i + 2);
    return end === -1 ? sql.length : end + 2;
  }
  if (c === '$' && dialect === 'postgres') {
    const tag = /\$([A-Za-z_][A-Za-z0-9_]*)?\$/y;
    tag.lastIndex = i;
    const match = tag.exec(sql);
    if (match !== null) {
      const end = sql.indexOf(match[0], i + match[0].length);
      return end === -1 ? sql.length : end + match[0].length;
    }
  }
  return i;
}

function closeQuote(sql: string, start: number, quote: string, backslashEscapes: boolean): number {
  let i = start + 1;
  while (i < sql.length) {
    const c = sql[i];
    if (backslashEscapes && c === '\\') {
      i += 2;
      continue;
    }
    if (c === quote) {
      if (sql[i + 1] === quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  return sql.length;
}

function lineEnd(sql: string, i: number): number {
  const end = sql.indexOf('\n', i);
  return end === -1 ? sql.length : end + 1;
}
