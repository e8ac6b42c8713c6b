import { lstat, readFile, readdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { parseDocument } from 'yaml';
import type { ConfigurationIssue } from '../errors.js';
import type { FlowSource } from './compiler.js';

export const FLOW_FILE_EXTENSIONS = ['.yaml', '.yml', '.json'] as const;
export const MAX_FLOW_FILE_BYTES = 1024 * 1024;
/** YAML alias expansion is bounded so a "billion laughs" file cannot exhaust memory. */
export const MAX_YAML_ALIAS_COUNT = 100;

export interface LoadedSources {
  readonly sources: FlowSource[];
  readonly issues: ConfigurationIssue[];
}

/**
 * Reads every flow file directly inside `dir`. Files are named relative to `dir` in errors.
 * Symlinks that lead outside `dir` are never read; problems are collected, not thrown.
 */
export async function readFlowDirectory(dir: string): Promise<LoadedSources> {
  const sources: FlowSource[] = [];
  const issues: ConfigurationIssue[] = [];
  let root: string;
  let entries: string[];
  try {
    root = await realpath(dir);
    entries = (await readdir(root)).sort();
  } catch (error) {
    issues.push({ file: dir, path: '', message: `cannot read the flows directory: ${(error as Error).message}` });
    return { sources, issues };
  }
  for (const entry of entries) {
    if (!FLOW_FILE_EXTENSIONS.some((ext) => entry.endsWith(ext))) continue;
    const file = path.join(root, entry);
    const display = path.join(dir, entry);
    const problem = await checkFile(root, file);
    if (problem !== undefined) {
      issues.push({ file: display, path: '', message: problem });
      continue;
    }
    const text = await readFile(file, 'utf8');
    const parsed = parseFlowText(text, entry.endsWith('.json') ? 'json' : 'yaml');
    if ('error' in parsed) issues.push({ file: display, path: parsed.path ?? '', message: parsed.error });
    else sources.push({ source: display, definition: parsed.value });
  }
  return { sources, issues };
}

async function checkFile(root: string, file: string): Promise<string | undefined> {
  const info = await lstat(file);
  if (info.isSymbolicLink()) {
    const target = await realpath(file).catch(() => undefined);
    if (target === undefined) return 'is a broken symbolic link';
    if (path.dirname(target) !== root && !target.startsWith(root + path.sep)) {
      return 'is a symbolic link to a file outside the flows directory; it is not read';
    }
  } else if (!info.isFile()) {
    return 'is not a regular file';
  }
  const size = (await lstat(await realpath(file))).size;
  if (size > MAX_FLOW_FILE_BYTES) return `is larger than ${MAX_FLOW_FILE_BYTES} bytes`;
  return undefined;
}

/** Parses one flow file's text; YAML errors carry line and column. */
export function parseFlowText(
  text: string,
  format: 'yaml' | 'json',
): { value: unknown } | { error: string; path?: string } {
  if (format === 'json') {
    try {
      return { value: JSON.parse(text) as unknown };
    } catch (error) {
      return { error: `invalid JSON: ${(error as Error).message}` };
    }
  }
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true, version: '1.2' });
  if (document.errors.length > 0) {
    return { error: `invalid YAML: ${document.errors.map((e) => e.message.split('\n')[0]).join('; ')}` };
  }
  try {
    return { value: document.toJS({ maxAliasCount: MAX_YAML_ALIAS_COUNT }) as unknown };
  } catch (error) {
    return { error: `invalid YAML: ${(error as Error).message}` };
  }
}
