/**
 * Issue rule 7 — flow loading is safe: files outside FLOWS_DIR (symlinks, `..`) are never read,
 * YAML aliases are bounded, a flow name (and every flow reference) is a name, not a path.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Agent } from 'undici';
import { ConfigurationError, type ConfigurationIssue } from '../../src/errors.js';
import { compileFlows } from '../../src/flows/compiler.js';
import { MAX_FLOW_FILE_BYTES, MAX_YAML_ALIAS_COUNT, parseFlowText, readFlowDirectory } from '../../src/flows/loader.js';
import { createBuiltinRegistry } from '../../src/library.js';

const OUTSIDE_CANARY = 'outside-canary-6a1d0f';

let root: string;
let flowsDir: string;
let outsideDir: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'flowd-load-'));
  flowsDir = join(root, 'flows');
  outsideDir = join(root, 'outside');
  mkdirSync(flowsDir);
  mkdirSync(outsideDir);
  // A valid flow outside FLOWS_DIR: if it were ever read, its name and description would show.
  writeFileSync(
    join(outsideDir, 'stolen.json'),
    JSON.stringify({ name: 'stolen', description: OUTSIDE_CANARY, phases: [{ id: 'a', component: 'transform', request: 1 }] }),
  );
  writeFileSync(join(outsideDir, 'passwd.yaml'), `root:x:0:0:${OUTSIDE_CANARY}:/root:/bin/bash\n`);
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function isPlainJson(value: unknown): boolean {
  if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) return true;
  if (Array.isArray(value)) return value.every(isPlainJson);
  if (typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) return false;
  return Object.values(value).every(isPlainJson);
}

function issuesText(issues: readonly ConfigurationIssue[]): string {
  return issues.map((issue) => `${issue.file ?? ''} ${issue.path} ${issue.message}`).join('\n');
}

describe('files outside FLOWS_DIR are never read', () => {
  it('a symlink to a flow file outside is reported and not loaded', async () => {
    symlinkSync(join(outsideDir, 'stolen.json'), join(flowsDir, 'stolen.json'));
    const { sources, issues } = await readFlowDirectory(flowsDir);
    expect(sources).toHaveLength(0);
    expect(issuesText(issues)).toMatch(/symbolic link to a file outside the flows directory/);
    expect(issuesText(issues)).not.toContain(OUTSIDE_CANARY);
  });

  it('a relative symlink climbing out with .. is refused the same way', async () => {
    symlinkSync('../outside/passwd.yaml', join(flowsDir, 'passwd.yaml'));
    symlinkSync('../../../../../../../../etc/hostname', join(flowsDir, 'hostname.yaml'));
    const { sources, issues } = await readFlowDirectory(flowsDir);
    expect(sources).toHaveLength(0);
    expect(issues).toHaveLength(2);
    expect(issuesText(issues)).not.toContain(OUTSIDE_CANARY);
  });

  it('a symlinked directory inside FLOWS_DIR is not followed', async () => {
    symlinkSync(outsideDir, join(flowsDir, 'more.yaml'));
    symlinkSync(outsideDir, join(flowsDir, 'sub'));
    const { sources, issues } = await readFlowDirectory(flowsDir);
    expect(sources).toHaveLength(0);
    expect(issuesText(issues)).not.toContain(OUTSIDE_CANARY);
  });

  it('files in sub-directories are not read (only direct entries)', async () => {
    mkdirSync(join(flowsDir, 'nested'));
    writeFileSync(join(flowsDir, 'nested', 'inner.json'), JSON.stringify({ name: 'inner', phases: [{ id: 'a', component: 'transform' }] }));
    const { sources } = await readFlowDirectory(flowsDir);
    expect(sources).toHaveLength(0);
  });

  it('a symlink that stays inside FLOWS_DIR is fine', async () => {
    writeFileSync(join(flowsDir, 'real.json'), JSON.stringify({ name: 'real', phases: [{ id: 'a', component: 'transform', request: 1 }] }));
    mkdirSync(join(flowsDir, 'v2'));
    writeFileSync(join(flowsDir, 'v2', 'target.json'), JSON.stringify({ name: 'aliased', phases: [{ id: 'a', component: 'transform', request: 1 }] }));
    symlinkSync(join(flowsDir, 'v2', 'target.json'), join(flowsDir, 'aliased.json'));
    const { sources, issues } = await readFlowDirectory(flowsDir);
    expect(issues).toEqual([]);
    expect(sources.map((s) => (s.definition as { name: string }).name).sort()).toEqual(['aliased', 'real']);
  });

  it(`a file over ${MAX_FLOW_FILE_BYTES} bytes is not parsed`, async () => {
    writeFileSync(join(flowsDir, 'huge.json'), `{"name":"huge","description":"${'x'.repeat(MAX_FLOW_FILE_BYTES)}"}`);
    const { sources, issues } = await readFlowDirectory(flowsDir);
    expect(sources).toHaveLength(0);
    expect(issuesText(issues)).toMatch(/larger than/);
  });
});

describe('YAML aliases are bounded', () => {
  it('a "billion laughs" alias bomb is refused quickly, without expanding it', () => {
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 10; i++) {
      const prev = String.fromCharCode(96 + i);
      const cur = String.fromCharCode(97 + i);
      lines.push(`${cur}: &${cur} [*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev}]`);
    }
    const started = performance.now();
    const heapBefore = process.memoryUsage().heapUsed;
    const result = parseFlowText(`name: bomb\n${lines.join('\n')}\n`, 'yaml');
    expect('error' in result).toBe(true);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(200 * 1024 * 1024);
  });

  it(`a file using up to ${MAX_YAML_ALIAS_COUNT} aliases still loads`, () => {
    const result = parseFlowText('base: &b { x: 1 }\nuse: [*b, *b, *b]\n', 'yaml');
    expect(result).toEqual({ value: { base: { x: 1 }, use: [{ x: 1 }, { x: 1 }, { x: 1 }] } });
  });

  it('YAML tags cannot construct code or objects (!!js/function, !!python, custom tags)', () => {
    for (const text of [
      'name: x\nfn: !!js/function "function(){ return process }"\n',
      'name: x\nobj: !!python/object/apply:os.system ["id"]\n',
      'name: x\nre: !!js/regexp /a/\n',
      'name: x\ncustom: !flowd/exec "id"\n',
    ]) {
      const result = parseFlowText(text, 'yaml');
      // Refused, or plain data (strings, numbers, plain objects): never a function, RegExp or class instance.
      if ('value' in result) expect(isPlainJson(result.value), text).toBe(true);
    }
  });
});

describe('a flow name is a name, not a path', () => {
  const agent = new Agent();
  const registry = createBuiltinRegistry({ dispatcher: agent });
  const compile = (definitions: Record<string, unknown>[]) => () =>
    compileFlows(definitions.map((definition, i) => ({ source: `<${i}>`, definition })), { adapters: registry, env: {} });
  const valid = { phases: [{ id: 'a', component: 'transform', request: 1 }] };

  for (const name of ['../../etc/passwd', '/etc/passwd', 'flows/x', '..', '.', 'a\\b', 'x.yaml', 'UPPER', '', ' x', 'x\u0000y']) {
    it(`the name ${JSON.stringify(name)} is a ConfigurationError`, () => {
      expect(compile([{ name, ...valid }])).toThrow(ConfigurationError);
    });
  }

  it('sub-flow, recovery, prerequisite and trigger references are names too', () => {
    const base = { name: 'ok', ...valid };
    const cases: Record<string, unknown>[] = [
      { ...base, phases: [{ id: 'a', flow: '../ok' }] },
      { ...base, recovery_flow: '../../etc/passwd' },
      { ...base, depends_on: [{ flow: '/abs/path' }] },
      { ...base, triggers: [{ flow: 'x/../y' }] },
    ];
    for (const definition of cases) expect(compile([definition])).toThrow(ConfigurationError);
  });

  it('the file name does not decide the flow name: a file named ../x.yaml cannot exist in a directory listing', async () => {
    writeFileSync(join(flowsDir, 'innocent.json'), JSON.stringify({ name: 'renamed', ...valid }));
    const { sources } = await readFlowDirectory(flowsDir);
    expect((sources[0]!.definition as { name: string }).name).toBe('renamed');
  });
});
