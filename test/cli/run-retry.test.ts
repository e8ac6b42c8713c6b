/**
 * Regression: `flowd run` exited with code 13 and printed nothing while a retry backed off (the
 * retry policy's timers were unref'd, so nothing kept the process alive during the backoff).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe('flowd run as a real process', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'flowd-run-retry-'));
    await writeFile(
      path.join(dir, 'flaky.yaml'),
      [
        'name: flaky',
        'components:',
        '  api: { adapter: mock, sequence: [ { status: 503 }, { status: 503 }, { status: 200, body: { ok: true } } ] }',
        'defaults:',
        '  retry_policy: { initial_delay_ms: 200, max_delay_ms: 200, jitter: none }',
        'phases:',
        '  - { id: call, component: api, request: { method: GET, path: /x } }',
      ].join('\n'),
    );
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('waits through retry backoffs, prints the record and exits 0', async () => {
    const child = spawn('npx', ['tsx', 'src/cli/main.ts', 'run', 'flaky', '--flows', dir, '--input', '{}'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const code = await new Promise((resolve) => child.once('exit', resolve));

    expect(code).toBe(0);
    const record = JSON.parse(stdout) as { status: string; phases: { attempts: number }[] };
    expect(record.status).toBe('succeeded');
    expect(record.phases[0]?.attempts).toBe(3);
  }, 60_000);
});
