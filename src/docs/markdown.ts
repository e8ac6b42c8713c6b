import { stringify } from 'yaml';

/** Small Markdown and Mermaid writers for generated documents: output is stable for the same input. */

export function fence(language: string, body: string): string {
  const text = body.endsWith('\n') ? body : `${body}\n`;
  // A body that itself contains ``` needs a longer fence.
  const longest = Math.max(2, ...[...text.matchAll(/`{3,}/g)].map((m) => m[0].length));
  const ticks = '`'.repeat(longest + 1);
  return `${ticks}${language}\n${text}${ticks}`;
}

/** `value` as YAML, the way it reads in a flow file. */
export function yamlOf(value: unknown): string {
  return stringify(value, { lineWidth: 0, defaultStringType: 'PLAIN', defaultKeyType: 'PLAIN' }).trimEnd();
}

/** Inline code that survives backticks inside. */
export function code(text: string): string {
  return text.includes('`') ? `\`\` ${text} \`\`` : `\`${text}\``;
}

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
  const lines = [`| ${header.map(cell).join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const row of rows) lines.push(`| ${row.map(cell).join(' | ')} |`);
  return lines.join('\n');
}

/** A human title from a flow name: `order-fulfillment` → `Order Fulfillment`. */
export function titleOf(name: string): string {
  return name
    .split(/[-_]+/)
    .filter((part) => part !== '')
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join(' ');
}

/** Text of a `{% … %}` template without its delimiters, for prose and diagrams. */
export function expressionText(value: unknown): string {
  if (typeof value !== 'string') return JSON.stringify(value) ?? 'undefined';
  const match = /^\s*\{%([\s\S]*)%\}\s*$/.exec(value);
  return (match === null ? value : match[1]!).replace(/\s+/g, ' ').trim();
}

/** Text safe inside a Mermaid sequence-diagram message or note (one line, no statement breaks). */
export function mermaidText(text: string, max = 90): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  const short = oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
  return short.replace(/[#;%<>{}]/g, (c) => `#${c.charCodeAt(0)};`);
}

/** A Mermaid node id from any name. */
export function mermaidId(name: string): string {
  return name.replace(/[^A-Za-z0-9_]/g, '_');
}

/** A quoted Mermaid flowchart label. */
export function mermaidLabel(text: string): string {
  return `"${text.replace(/"/g, '#quot;').replace(/[\r\n]+/g, ' ')}"`;
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** `1500` → `1500 ms`, `60000` → `60 s`, `3600000` → `60 min`. */
export function duration(ms: number): string {
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms >= 1000 && ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}
