import { readdirSync, readFileSync } from 'node:fs';

/**
 * The fenced code blocks of the README and docs/, each with the check its annotation asks for:
 * the HTML comment on the line before the block, `<!-- check: KIND [key="value"]… -->` (or
 * `<!-- file: path -->`, the files docs/own-project.md builds a project from). A block without an
 * annotation is checked by its language's default (`sh` runs, `yaml` compiles as a flow, `ts`
 * type-checks, `promql` parses); any other block must say how it is checked.
 */
export interface DocBlock {
  readonly file: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly lang: string;
  /** The block's text, its list-item indentation removed. */
  readonly text: string;
  readonly kind: string;
  /** The annotation's first bare word after the kind (e.g. the schema of `json`), if any. */
  readonly subject: string | undefined;
  /** key="value" pairs of the annotation; a key may repeat (`expect`). */
  readonly args: ReadonlyMap<string, readonly string[]>;
}

/** The pages whose blocks are checked: README.md and docs/*.md (docs/flows/ is generated and drift-checked). */
export function docPages(): string[] {
  return ['README.md', ...readdirSync('docs').filter((name) => name.endsWith('.md')).sort().map((name) => `docs/${name}`)];
}

const DEFAULT_KIND: Readonly<Record<string, string>> = { sh: 'run', yaml: 'flow', ts: 'ts', promql: 'promql' };

export function readDocBlocks(file: string): DocBlock[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const blocks: DocBlock[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    const open = /^(\s*)```(\S*)\s*$/.exec(lines[i]!);
    if (open === null) continue;
    const indent = open[1]!.length;
    const lang = open[2]!;
    let end = i + 1;
    while (end < lines.length && !/^\s*```\s*$/.test(lines[end]!)) end += 1;
    const text = lines
      .slice(i + 1, end)
      .map((line) => line.slice(Math.min(indent, line.length - line.trimStart().length)))
      .join('\n');
    let previous = i - 1;
    while (previous >= 0 && lines[previous]!.trim() === '') previous -= 1;
    const annotation = previous >= 0 ? lines[previous]!.trim() : '';
    blocks.push({ file, line: i + 1, lang, text: `${text}\n`, ...parseAnnotation(annotation, lang) });
    i = end;
  }
  return blocks;
}

function parseAnnotation(annotation: string, lang: string): Pick<DocBlock, 'kind' | 'subject' | 'args'> {
  const file = /^<!-- file: (\S+) -->$/.exec(annotation);
  if (file !== null) return { kind: 'file', subject: file[1], args: new Map() };
  const check = /^<!-- check: (\S+)(.*?)-->$/.exec(annotation);
  if (check === null) return { kind: DEFAULT_KIND[lang] ?? 'unannotated', subject: undefined, args: new Map() };
  const args = new Map<string, string[]>();
  let subject: string | undefined;
  for (const [, key, quoted, bare, word] of check[2]!.matchAll(/(\w[\w-]*)=(?:"((?:[^"\\]|\\.)*)"|(\S+))|(\S+)/g)) {
    if (word !== undefined) {
      subject ??= word;
      continue;
    }
    const value = quoted === undefined ? bare! : quoted.replaceAll('\\"', '"');
    args.set(key!, [...(args.get(key!) ?? []), value]);
  }
  return { kind: check[1]!, subject, args };
}

/** One argument of a block, or undefined. */
export function arg(block: DocBlock, key: string): string | undefined {
  return block.args.get(key)?.[0];
}

export function where(block: DocBlock): string {
  return `${block.file}:${block.line}`;
}
