import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/cli-io.js';
import { runCli } from '../../src/cli/main.js';

const REPO = process.cwd();

/** Runs the CLI in-process with captured output. */
async function cli(argv: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    cwd: options.cwd ?? REPO,
    env: options.env ?? {},
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

describe('flowd CLI', () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), 'flowd-cli-'));
  });
  afterAll(() => rm(scratch, { recursive: true, force: true }));

  describe('validate', () => {
    it('accepts the example flows', async () => {
      const result = await cli(['validate', 'flows']);
      expect(result.code).toBe(0);
      const count = (await readdir('flows')).filter((file) => file.endsWith('.yaml')).length;
      expect(result.stdout).toMatch(new RegExp(`^${count} flows valid in flows: expense-approval \\(v1\\), expense-reminders \\(v1\\), loyalty-points \\(v1\\), .*order-fulfillment \\(v3\\)`));
    });

    it('lists every problem with its file and path, and exits 1', async () => {
      const dir = path.join(scratch, 'broken');
      await mkdir(dir);
      await writeFile(
        path.join(dir, 'a.yaml'),
        ['name: a', 'phases:', '  - id: one', '    component: missing', '  - id: two', "    component: transform", "    request: \"{% phases.nope %}\""].join('\n'),
      );
      await writeFile(path.join(dir, 'b.yaml'), 'name: b\nphases: [ {id: x\n');
      await writeFile(path.join(dir, 'c.json'), JSON.stringify({ name: 'c', timeout_ms: -1, phases: [{ id: 'x', flow: 'ghost' }] }));
      const result = await cli(['validate', dir]);
      expect(result.code).toBe(1);
      const lines = result.stderr.trim().split('\n');
      const rel = path.relative(REPO, dir);
      expect(lines).toEqual(
        expect.arrayContaining([
          `${rel}/a.yaml: phases[0].component: unknown component "missing"; declared: transform, delay`,
          expect.stringMatching(new RegExp(`^${rel}/a\\.yaml: phases\\[1\\]\\.request: references phases\\.nope`)),
          expect.stringMatching(new RegExp(`^${rel}/b\\.yaml: invalid YAML`)),
          `${rel}/c.json: timeout_ms: must be greater than 0 (found the number -1)`,
          // In the same pass as the invalid field: the reference to a flow that does not exist.
          expect.stringMatching(new RegExp(`^${rel}/c\\.json: phases\\[0\\]\\.flow: unknown flow "ghost"; flows in this directory: a, c$`)),
        ]),
      );
      expect(lines.at(-1)).toMatch(/^\d+ problems in 3 files$/);
    });

    it('uses placeholders for secrets unless --secrets asks for the real ones', async () => {
      const dir = path.join(scratch, 'secrets');
      await mkdir(dir);
      await writeFile(
        path.join(dir, 's.yaml'),
        ['name: s', 'components:', '  api: { adapter: http, base_url: "https://api.example", headers: { authorization: "Bearer ${secret:API_TOKEN}" } }', 'phases:', '  - { id: call, component: api }'].join('\n'),
      );
      expect((await cli(['validate', dir])).code).toBe(0);
      const strict = await cli(['validate', dir, '--secrets']);
      expect(strict.code).toBe(1);
      expect(strict.stderr).toContain('components.api: secret "API_TOKEN" is not set');
    });
  });

  describe('run', () => {
    it('runs a flow in-process, prints the record and exits 0 when it succeeded', async () => {
      const result = await cli(['run', 'loyalty-points', '--input', '{"customer_id":"gold-1","lines":2}']);
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ flow: 'loyalty-points', status: 'succeeded', output: { customer_id: 'gold-1', points: 40 } });
    });

    it('reads the input from @file, or runs a named example', async () => {
      const file = path.join(scratch, 'input.json');
      await writeFile(file, JSON.stringify({ weight_kg: 1, destination: 'FR' }));
      const fromFile = await cli(['run', 'shipping-quote', '--input', `@${file}`]);
      expect(fromFile.code).toBe(0);
      expect(JSON.parse(fromFile.stdout).output.destination).toBe('FR');

      const example = await cli(['run', 'order-fulfillment', '--example', 'gold-customer', '--flows', 'flows']);
      expect(example.code).toBe(0);
      expect(JSON.parse(example.stdout).output).toMatchObject({ order_id: 'o-1002', tier: 'gold' });
    });

    it('exits 1 when the flow does not succeed, and 2 when it cannot start', async () => {
      const dir = path.join(scratch, 'failing');
      await mkdir(dir);
      await writeFile(
        path.join(dir, 'f.yaml'),
        ['name: f', 'components:', '  down: { adapter: mock, responses: { default: { status: 400 } } }', 'phases:', '  - { id: call, component: down }'].join('\n'),
      );
      const failed = await cli(['run', 'f', '--flows', dir, '--input', '{}']);
      expect(failed.code).toBe(1);
      expect(JSON.parse(failed.stdout)).toMatchObject({ status: 'failed', error: { code: 'FLOWD_ERR_COMPONENT_FAILED', phase: 'call' } });
      expect(failed.stderr).toContain('f failed in phase call');

      const invalid = await cli(['run', 'loyalty-points', '--input', '{"lines":-1}']);
      expect(invalid.code).toBe(2);
      expect(invalid.stderr).toContain('FLOWD_ERR_INPUT_INVALID');
      expect((await cli(['run', 'nope', '--input', '{}'])).stderr).toContain('no flow named "nope"');
      expect((await cli(['run', 'loyalty-points', '--input', '{oops'])).code).toBe(2);
      expect((await cli(['run', 'loyalty-points'])).stderr).toContain('run needs --input');
    });
  });

  describe('doc and diagram', () => {
    it('prints a flow’s document and its diagram', async () => {
      const doc = await cli(['doc', 'order-fulfillment']);
      expect(doc.code).toBe(0);
      expect(doc.stdout).toBe(await readFile('docs/flows/order-fulfillment.md', 'utf8'));
      const dated = await cli(['doc', 'order-fulfillment', '--date', '2025-01-31']);
      expect(dated.stdout).toContain('**Date:** 2025-01-31');

      const diagram = await cli(['diagram', 'user-onboarding']);
      expect(diagram.code).toBe(0);
      expect(diagram.stdout).toMatch(/^graph TD\n/);
      expect(diagram.stdout).toContain('p_route -->|business| p_sales_lead');
    });

    it('writes every document with --all, and --check reports drift', async () => {
      const out = path.join(scratch, 'docs');
      const written = await cli(['doc', '--all', '--out', out]);
      expect(written.code).toBe(0);
      expect(written.stdout.trim().split('\n')).toHaveLength((await readdir('flows')).filter((file) => file.endsWith('.yaml')).length);
      expect((await cli(['doc', '--all', '--out', out, '--check'])).code).toBe(0);
      await writeFile(path.join(out, 'loyalty-points.md'), 'stale\n');
      const drift = await cli(['doc', '--all', '--out', out, '--check']);
      expect(drift.code).toBe(1);
      expect(drift.stderr).toContain('loyalty-points.md');
      expect((await cli(['doc', '--all', '--check', '--out', 'docs/flows'])).code).toBe(0);
    });
  });

  describe('openapi', () => {
    it('writes the OpenAPI document, and --check compares it', async () => {
      const out = path.join(scratch, 'openapi.json');
      const written = await cli(['openapi', '--out', out]);
      expect(written.code).toBe(0);
      const document = JSON.parse(await readFile(out, 'utf8')) as { openapi: string; paths: Record<string, unknown> };
      expect(document.openapi).toBe('3.1.0');
      expect(Object.keys(document.paths)).toContain('/flows/order-fulfillment/execute');
      expect((await cli(['openapi', '--out', out, '--check'])).code).toBe(0);
      await writeFile(out, '{}\n');
      expect((await cli(['openapi', '--out', out, '--check'])).code).toBe(1);
    }, 30_000);
  });

  describe('usage', () => {
    it('prints help, and refuses unknown commands and options with exit 2', async () => {
      const help = await cli(['--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain('validate [dir]');
      expect((await cli([])).code).toBe(2);
      expect((await cli(['deploy'])).stderr).toContain('unknown command "deploy"');
      expect((await cli(['diagram', 'x', '--input', '{}'])).stderr).toContain('diagram does not take --input');
      expect((await cli(['validate', '--bogus'])).code).toBe(2);
    });
  });
});

/** A port nobody listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('flowd CLI as a real process', () => {
  it('serve starts the API; validate exits non-zero on a broken directory', async () => {
    const [port, metricsPort] = [await freePort(), await freePort()];
    const child = spawn('npx', ['tsx', 'src/cli/main.ts', 'serve', '--port', String(port), '--host', '127.0.0.1'], {
      cwd: REPO,
      env: { ...process.env, METRICS_PORT: String(metricsPort), LOG_LEVEL: 'warn', API_KEYS: '', FLOWS_DIR: 'flows' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      const deadline = Date.now() + 30_000;
      let ready: Response | undefined;
      while (Date.now() < deadline && ready?.status !== 200) {
        ready = await fetch(`http://127.0.0.1:${port}/health/ready`).catch(() => undefined);
        if (ready?.status !== 200) await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(ready?.status, output).toBe(200);
      const run = await fetch(`http://127.0.0.1:${port}/flows/loyalty-points/execute`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ input: { customer_id: 'c-1', lines: 1 } }),
      });
      expect(run.status).toBe(200);
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      process.kill(-child.pid!, 'SIGTERM');
      await exited;
    }

    const dir = await mkdtemp(path.join(tmpdir(), 'flowd-cli-spawn-'));
    try {
      await writeFile(path.join(dir, 'bad.yaml'), 'name: Bad Name\nphases: []\n');
      const validate = spawn('npx', ['tsx', 'src/cli/main.ts', 'validate', dir], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      validate.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const code = await new Promise((resolve) => validate.once('exit', resolve));
      expect(code).toBe(1);
      expect(stderr).toContain('bad.yaml: name: must match');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
