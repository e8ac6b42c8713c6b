import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { offlineLockfile } from './offline-lockfile.js';

const execFileAsync = promisify(execFile);

/** Runs a command; a failure carries the command's own output, so a broken install explains itself. */
async function run(command: string, args: string[], options: Parameters<typeof execFileAsync>[2] & { cwd: string }): Promise<{ stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(command, args, { maxBuffer: 16 * 1024 * 1024, ...options, encoding: 'utf8' });
    return { stdout, stderr };
  } catch (error) {
    const failed = error as Error & { code?: number; stdout?: string; stderr?: string };
    throw Object.assign(new Error(`${command} ${args.join(' ')} failed (${failed.code}):\n${failed.stdout ?? ''}\n${failed.stderr ?? ''}`), {
      code: failed.code,
      stdout: failed.stdout ?? '',
      stderr: failed.stderr ?? '',
    });
  }
}
const REPO = process.cwd();
const GUIDE = 'docs/own-project.md';

/** The files of docs/own-project.md: each code block preceded by `<!-- file: path -->`. */
function guideFiles(markdown: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const match of markdown.matchAll(/<!-- file: (\S+) -->\n```\w*\n([\s\S]*?)```/g)) files.set(match[1]!, match[2]!);
  return files;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * flowd used the way a team with its own flows repository uses it: `npm pack` (which builds the
 * package through its `prepare` script), a fresh project outside this repository made of the
 * files in docs/own-project.md, `npm ci --offline` (every dependency comes from the npm cache that
 * this repository's `npm ci` filled: the project's lockfile pins the versions locked here), then
 * the `flowd` command and a test-kit test run by `node --test` in that project.
 */
describe('flowd installed from a packed tarball into a fresh project, offline', () => {
  let project: string;
  const flowd = (args: string[], env: Record<string, string> = {}) =>
    run(path.join(project, 'node_modules', '.bin', 'flowd'), args, { cwd: project, env: { ...process.env, ...env }, timeout: 60_000 });

  beforeAll(async () => {
    project = await mkdtemp(path.join(tmpdir(), 'flowd-team-'));
    const packed = await run('npm', ['pack', '--json', '--pack-destination', project], { cwd: REPO, timeout: 180_000 });
    const [tarball] = JSON.parse(packed.stdout) as { filename: string; integrity: string }[];
    const files = guideFiles(await readFile(GUIDE, 'utf8'));
    for (const [file, text] of files) {
      await mkdir(path.dirname(path.join(project, file)), { recursive: true });
      await writeFile(path.join(project, file), text);
    }
    const manifest = JSON.parse(files.get('package.json')!) as { name: string; version: string; dependencies: Record<string, string> };
    expect(manifest.dependencies['flowd']).toBe(`file:${tarball!.filename}`);
    const registry = (await run('npm', ['config', 'get', 'registry'], { cwd: REPO })).stdout.trim();
    const lock = offlineLockfile(JSON.parse(await readFile('package-lock.json', 'utf8')), JSON.parse(await readFile('package.json', 'utf8')), manifest, tarball!, registry);
    await writeFile(path.join(project, 'package-lock.json'), JSON.stringify(lock, null, 2));
    // Install scripts are skipped: better-sqlite3 would compile its native module (not needed here).
    await run('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: project, timeout: 240_000 });
  }, 420_000);

  afterAll(() => (project === undefined ? undefined : rm(project, { recursive: true, force: true })));

  it('ships the compiled package and nothing else of the repository', async () => {
    const installed = JSON.parse(await readFile(path.join(project, 'node_modules/flowd/package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(installed.bin['flowd']).toBe('./dist/src/cli/main.js');
    const listing = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: REPO, timeout: 60_000 });
    const paths = (JSON.parse(listing.stdout) as { files: { path: string }[] }[])[0]!.files.map((file) => file.path);
    expect(paths).toContain('dist/src/testing/index.js');
    expect(paths).toContain('dist/src/testing/index.d.ts');
    expect(paths.filter((file) => !file.startsWith('dist/src/'))).toEqual(expect.arrayContaining(['package.json', 'README.md']));
    expect(paths.filter((file) => /^(test|src|flows|bench)\//.test(file) || file.endsWith('.map'))).toEqual([]);
  });

  it('npm start does not recompile what npm pack (or npm ci) just built', async () => {
    // `start` runs `npm run build` = `tsc -b`, which compares sources with its build-info file.
    const { stdout } = await run('npx', ['tsc', '-b', 'tsconfig.build.json', '--verbose'], { cwd: REPO, timeout: 60_000 });
    expect(stdout).toContain("Project 'tsconfig.build.json' is up to date");
    expect(JSON.parse(await readFile('package.json', 'utf8')).scripts).toMatchObject({ start: 'npm run build --silent && node --max-semi-space-size=32 dist/src/server.js', build: 'tsc -b tsconfig.build.json' });
  });

  it('flowd validate checks the project’s own flows directory', async () => {
    const { stdout } = await flowd(['validate']);
    expect(stdout).toBe('1 flow valid in flows: greeting (v1)\n');
    await writeFile(path.join(project, 'broken.yaml'), 'name: broken\nphases:\n  - id: a\n    component: transfrom\n');
    const failed = await flowd(['validate', '--flows', '.']).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain('broken.yaml: phases[0].component: unknown component "transfrom" (did you mean "transform"?)');
  });

  it('flowd run runs a flow of the project in-process', async () => {
    const { stdout } = await flowd(['run', 'greeting', '--example', 'ada']);
    expect(JSON.parse(stdout)).toMatchObject({ flow: 'greeting', status: 'succeeded', output: { message: 'Hello, Ada (gold)', tier: 'gold' } });
    const other = await flowd(['run', 'greeting', '--input', '{"name": "Grace"}']);
    expect(JSON.parse(other.stdout)).toMatchObject({ output: { message: 'Hello, Grace (gold)' } });
  });

  it('flowd doc and flowd openapi write the project’s flow document and OpenAPI document', async () => {
    await flowd(['doc', 'greeting', '--out', 'greeting.md']);
    expect(await readFile(path.join(project, 'greeting.md'), 'utf8')).toMatch(/^# Greeting Flow\n/);
    await flowd(['openapi', '--out', 'openapi.json']);
    const document = JSON.parse(await readFile(path.join(project, 'openapi.json'), 'utf8')) as { paths: Record<string, unknown> };
    expect(Object.keys(document.paths)).toContain('/flows/greeting/execute');
  });

  it('the project’s own test, importing flowd/testing, passes under node --test (a backoff between retries no longer lets the process exit mid-run)', async () => {
    const { stdout } = await run(process.execPath, ['--test'], { cwd: project, timeout: 60_000 });
    expect(stdout).toMatch(/# pass 2\n/);
    expect(stdout).toMatch(/# fail 0\n/);
  });

  it('flowd and flowd/testing resolve with their types for a TypeScript project (the exports map)', async () => {
    await writeFile(
      path.join(project, 'typed.ts'),
      [
        "import { loadFlows, type FlowTestKit } from 'flowd/testing';",
        "import { FlowExecutionError, type ExecutionRecord } from 'flowd';",
        "const kit: FlowTestKit = await loadFlows({ flowsDir: 'flows' });",
        "const record: ExecutionRecord = (await kit.run('greeting', { name: 'Ada' })).record;",
        'const status: string = record.status;',
        'export { status, FlowExecutionError };',
        '// @ts-expect-error the test kit has no such export',
        "export { nothing } from 'flowd/testing';",
      ].join('\n'),
    );
    const tsc = path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
    const args = ['--noEmit', '--strict', '--skipLibCheck', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--lib', 'es2023,dom', 'typed.ts'];
    await run(process.execPath, [tsc, ...args], { cwd: project, timeout: 60_000 });
  });

  it('flowd serve serves the project’s flows over HTTP', async () => {
    const port = await freePort();
    const server = spawn(path.join(project, 'node_modules', '.bin', 'flowd'), ['serve', '--port', String(port)], {
      cwd: project,
      env: { ...process.env, STORE: 'memory', METRICS_PORT: String(await freePort()), LOG_LEVEL: 'warn' },
      stdio: 'ignore',
    });
    try {
      const url = `http://127.0.0.1:${port}`;
      let ready = false;
      for (let attempt = 0; attempt < 100 && !ready; attempt += 1) {
        ready = await fetch(`${url}/health/ready`).then((response) => response.ok, () => false);
        if (!ready) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(ready).toBe(true);
      const response = await fetch(`${url}/flows/greeting/execute`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"input": {"name": "Ada"}}' });
      expect(await response.json()).toMatchObject({ status: 'succeeded', output: { tier: 'gold' } });
    } finally {
      server.kill('SIGTERM');
      await new Promise((resolve) => server.once('exit', resolve));
    }
  }, 30_000);
});
