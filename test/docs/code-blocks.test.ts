/**
 * Every code block of the README and docs/*.md is run or checked, so the documentation cannot
 * drift from the code (issue 16 point 7). Each block says how in the comment before it (see
 * doc-blocks.ts); the kinds:
 *
 *   run            `sh`: run with bash (-e, pipefail) in a project holding a copy of flows/, against
 *                  the page's service (3000 and 9464 replaced by its ports; `npx flowd` is the CLI
 *                  from the sources); every `expect="…"` must be in its output
 *   serves         `sh`: `[VAR=value …] npm start | npm run dev | npx flowd serve|dev`; the page's
 *                  service is (re)started as that command configures it (executions in memory)
 *   flow           `yaml`: a whole flow, compiled with the example flows; `file=` also writes it
 *                  into the served flows directory and reloads
 *   flow-part      `yaml`: merged into `into=` (an example flow; `at=phases` appends phases), compiled
 *   json           `json`: valid against the OpenAPI component named after `json`
 *   ts             `ts`: type-checked against the sources (`flowd`, `flowd/testing`), with a
 *                  `declare="…"` for each name the block uses but does not define
 *   promql         parsed by promtool, and every metric it selects is one flowd exports
 *   output         the text `of="flowd --help"` prints
 *   covered-by     run elsewhere: the file named exists (and contains `contains=`)
 *   file           docs/own-project.md's project files, built and run by test/distribution/pack-install.test.ts
 *   none           not runnable (a format, a map of the repository); needs `reason=`, and the list is pinned below
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { Agent } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { USAGE } from '../../src/cli/main.js';
import { placeholderSecretsEnv } from '../../src/cli/cli-io.js';
import { compileFlowVersions, type FlowSource } from '../../src/flows/compiler.js';
import { parseFlowText } from '../../src/flows/loader.js';
import { createBuiltinRegistry } from '../../src/library.js';
import { createMetrics, METRIC_NAMES } from '../../src/observability/metrics.js';
import { baseName, metricNamesIn } from '../helpers/promql.js';
import { arg, docPages, readDocBlocks, where, type DocBlock } from './doc-blocks.js';
import { DocSession } from './doc-session.js';

const execFileAsync = promisify(execFile);
const pages = docPages().map((file) => ({ file, blocks: readDocBlocks(file) }));
const all = pages.flatMap((page) => page.blocks);

const dispatcher = new Agent();
afterAll(() => dispatcher.close());

/** The example flows, as sources, with one of them replaced or one added. */
function flowSources(extra?: { name: string; definition: unknown }): FlowSource[] {
  const sources: FlowSource[] = [];
  for (const file of ['loyalty-points', 'nightly-report', 'order-fulfillment', 'order-recovery', 'shipping-quote', 'user-onboarding']) {
    const parsed = parseFlowText(readFileSync(`flows/${file}.yaml`, 'utf8'), 'yaml') as { value: { name: string } };
    if (parsed.value.name !== extra?.name) sources.push({ source: `flows/${file}.yaml`, definition: parsed.value });
  }
  if (extra !== undefined) sources.push({ source: '<doc block>', definition: extra.definition });
  return sources;
}

/** Compiles the example flows with `definition` among them; throws the problems if any. */
function compileWith(definition: unknown): void {
  const name = (definition as { name?: string }).name ?? '';
  compileFlowVersions(flowSources({ name, definition }), { adapters: createBuiltinRegistry({ dispatcher }), env: placeholderSecretsEnv({}) });
}

/**
 * A fragment's keys over a flow's, two levels deep: top-level keys are replaced, except maps such
 * as `components`, whose entries are replaced one by one (a component in the fragment replaces the
 * flow's component of that name as a whole).
 */
function merge(base: unknown, patch: unknown, depth = 2): unknown {
  if (depth === 0 || typeof base !== 'object' || base === null || Array.isArray(base) || typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const merged: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [key, value] of Object.entries(patch)) merged[key] = merge(merged[key], value, depth - 1);
  return merged;
}

/** The `serves` commands a page may use, with the variables they set. */
function servedBy(block: DocBlock): { env: Record<string, string>; dev: boolean } {
  const lines = block.text.split('\n').map((line) => line.replace(/#.*$/, '').trim()).filter((line) => line !== '');
  expect(lines, where(block)).toHaveLength(1);
  const match = /^((?:[A-Z_]+=\S+\s+)*)(npm start|npm run dev|npx flowd serve|npx flowd dev)$/.exec(lines[0]!);
  expect(match, `${where(block)}: not a command that serves flowd: ${lines[0]}`).not.toBeNull();
  const env = Object.fromEntries(match![1]!.trim().split(/\s+/).filter((word) => word !== '').map((word) => word.split('=') as [string, string]));
  return { env, dev: match![2]!.endsWith('dev') };
}

describe('code blocks of the README and docs/', () => {
  it('every block says how it is checked, with a kind this test knows', () => {
    const known = new Set(['run', 'serves', 'flow', 'flow-part', 'json', 'ts', 'promql', 'output', 'covered-by', 'file', 'none']);
    expect(all.filter((block) => !known.has(block.kind)).map((block) => `${where(block)} [${block.lang}] ${block.kind}`)).toEqual([]);
  });

  it('leaves only these blocks unchecked, each with its reason', () => {
    const unchecked = all.filter((block) => block.kind === 'none');
    for (const block of unchecked) expect(arg(block, 'reason'), where(block)).toMatch(/\w{4,}/);
    expect(unchecked.map((block) => `${block.file}: ${arg(block, 'reason')}`)).toEqual([
      'README.md: a map of the repository',
      'docs/ARCHITECTURE.md: a diagram of the execution journal',
      'docs/ARCHITECTURE.md: a map of the source tree',
      'docs/own-project.md: builds and runs the Docker image (its Dockerfile is checked by test/ops/ops-config.test.ts)',
      'docs/reload-and-versions.md: two file names and their keys, not a file',
      'docs/security.md: the format of API_KEYS, with placeholders',
    ]);
  });

  for (const page of pages) {
    const runnable = page.blocks.filter((block) => ['run', 'serves', 'flow'].includes(block.kind));
    if (runnable.length === 0) continue;
    it(`${page.file}: runs its shell blocks in order against the service it describes`, async () => {
      const session = new DocSession();
      try {
        for (const block of page.blocks) {
          if (block.kind === 'serves') {
            const { env, dev } = servedBy(block);
            await session.serve(env, dev);
          } else if (block.kind === 'flow' && arg(block, 'file') !== undefined) {
            await session.writeFile(arg(block, 'file')!, block.text);
            const last = (await session.service()).built.reloader.last;
            expect(last.issues, where(block)).toEqual([]);
          } else if (block.kind === 'run') {
            const output = await session.sh(block.text);
            for (const expected of block.args.get('expect') ?? []) expect(output, `${where(block)} prints ${expected}`).toContain(expected);
            await session.settle();
          }
        }
      } finally {
        await session.close();
      }
    }, 120_000);
  }

  it('compiles every flow block, and every flow fragment merged into the flow it belongs to', () => {
    for (const block of all.filter((candidate) => candidate.kind === 'flow' || candidate.kind === 'flow-part')) {
      const parsed = parseFlowText(block.text, 'yaml');
      expect(parsed, where(block)).toHaveProperty('value');
      let definition = (parsed as { value: unknown }).value;
      if (block.kind === 'flow-part') {
        const into = arg(block, 'into')!;
        const flow = parse(readFileSync(into, 'utf8')) as Record<string, unknown> & { phases: unknown[] };
        definition = arg(block, 'at') === 'phases' ? { ...flow, phases: [...flow.phases, ...(definition as unknown[])] } : merge(flow, definition);
      }
      expect(() => compileWith(definition), where(block)).not.toThrow();
    }
  });

  it('validates every JSON block against the OpenAPI component it shows', () => {
    const document = JSON.parse(readFileSync('openapi/openapi.json', 'utf8')) as { components: { schemas: Record<string, object> } };
    const ajv = new Ajv2020.default({ strict: false, allErrors: true });
    addFormats.default(ajv);
    ajv.addSchema({ $id: 'flowd', components: document.components });
    for (const block of all.filter((candidate) => candidate.kind === 'json')) {
      const validate = ajv.getSchema(`flowd#/components/schemas/${block.subject!}`);
      expect(validate, `${where(block)}: no component ${block.subject}`).toBeDefined();
      expect(validate!(JSON.parse(block.text)) ? [] : validate!.errors, where(block)).toEqual([]);
    }
  });

  it('type-checks every TypeScript block against the sources', async () => {
    const dir = mkdtempSync(path.join(process.cwd(), '.doc-blocks-'));
    try {
      const blocks = all.filter((block) => block.kind === 'ts');
      const files = blocks.map((block, index) => {
        const declarations = block.args.get('declare') ?? [];
        const file = `block-${index}.ts`;
        writeFileSync(path.join(dir, file), `// ${where(block)}\n${declarations.map((part) => `declare ${part};`).join('\n')}\n${block.text}\nexport {};\n`);
        return file;
      });
      const repo = process.cwd();
      writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
        extends: path.join(repo, 'tsconfig.json'),
        compilerOptions: { noEmit: true, rootDir: repo, paths: { flowd: [path.join(repo, 'src/index.ts')], 'flowd/testing': [path.join(repo, 'src/testing/index.ts')] }, noUnusedLocals: false },
        include: files,
      }));
      const tsc = path.join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
      const result = await execFileAsync(process.execPath, [tsc, '-p', path.join(dir, 'tsconfig.json')], { cwd: dir }).then(
        () => '',
        (error: Error & { stdout?: string }) => error.stdout ?? error.message,
      );
      expect(result.replaceAll(/block-(\d+)\.ts/g, (_match, index: string) => where(blocks[Number(index)]!))).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('parses every PromQL block with promtool, and every metric it selects is one flowd exports', async () => {
    const exported = (await createMetrics().registry.metrics()).split('\n').flatMap((line) => /^# TYPE (\S+) /.exec(line)?.[1] ?? []);
    const known = new Set<string>([...METRIC_NAMES, ...exported]);
    const dir = mkdtempSync(path.join(process.cwd(), '.doc-promql-'));
    try {
      for (const block of all.filter((candidate) => candidate.kind === 'promql')) {
        // One expression per line that does not continue the previous one with an operator.
        const expressions: string[] = [];
        for (const line of block.text.split('\n').filter((text) => text.trim() !== '' && !text.trim().startsWith('#'))) {
          if (/^\s*(\/|\*|\+|-|and\b|or\b|unless\b)/.test(line) && expressions.length > 0) expressions[expressions.length - 1] += `\n${line}`;
          else expressions.push(line.trim());
        }
        const unknown = expressions.flatMap((expression) => metricNamesIn(expression).map(baseName)).filter((name) => !known.has(name));
        expect(unknown, where(block)).toEqual([]);
        const rules = { groups: [{ name: 'doc', rules: expressions.map((expr, index) => ({ record: `doc:rule${index}`, expr })) }] };
        writeFileSync(path.join(dir, 'rules.yml'), JSON.stringify(rules));
        const result = await execFileAsync('promtool', ['check', 'rules', path.join(dir, 'rules.yml')]).then(
          () => '',
          (error: { stdout?: string; stderr?: string }) => `${error.stdout ?? ''}${error.stderr ?? ''}`,
        );
        expect(result, where(block)).toBe('');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('shows the CLI help as flowd prints it', () => {
    for (const block of all.filter((candidate) => candidate.kind === 'output')) {
      expect(arg(block, 'of'), where(block)).toBe('flowd --help');
      expect(block.text, where(block)).toBe(USAGE);
    }
  });

  it('names, for each block run elsewhere, a test that exists and runs it', () => {
    for (const block of all.filter((candidate) => candidate.kind === 'covered-by')) {
      expect(existsSync(block.subject!), where(block)).toBe(true);
      const contains = arg(block, 'contains');
      if (contains !== undefined) expect(readFileSync(block.subject!, 'utf8'), where(block)).toContain(contains);
    }
    const projectFiles = all.filter((block) => block.kind === 'file');
    expect(projectFiles.map((block) => block.file)).toEqual(projectFiles.map(() => 'docs/own-project.md'));
    expect(readFileSync('test/distribution/pack-install.test.ts', 'utf8')).toContain("const GUIDE = 'docs/own-project.md'");
  });

  it('links only to files and headings that exist', () => {
    const broken: string[] = [];
    for (const { file } of pages) {
      const text = readFileSync(file, 'utf8').replaceAll(/```[\s\S]*?```/g, '');
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^(https?:|mailto:)/.test(target!)) continue;
        const [relative, anchor] = target!.split('#') as [string, string | undefined];
        const resolved = relative === '' ? file : path.join(path.dirname(file), relative);
        if (!existsSync(resolved)) {
          broken.push(`${file}: ${target}`);
          continue;
        }
        if (anchor !== undefined && resolved.endsWith('.md') && !anchorsOf(resolved).has(anchor)) broken.push(`${file}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });
});

/** GitHub's heading anchors of a Markdown file. */
function anchorsOf(file: string): Set<string> {
  const anchors = new Set<string>();
  const text = readFileSync(file, 'utf8').replaceAll(/```[\s\S]*?```/g, '');
  for (const [, heading] of text.matchAll(/^#{1,6} (.+)$/gm)) {
    const base = heading!
      .toLowerCase()
      .replaceAll(/[^\p{L}\p{N}\s_-]/gu, '')
      .trim()
      .replaceAll(/\s/g, '-');
    let anchor = base;
    for (let n = 1; anchors.has(anchor); n += 1) anchor = `${base}-${n}`;
    anchors.add(anchor);
  }
  return anchors;
}
