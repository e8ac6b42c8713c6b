/** `flowd run` with a flow that waits: it stops at the wait, --signal answers it, --advance moves the clock. */
import { describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/cli-io.js';
import { runCli } from '../../src/cli/main.js';

async function cli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (text) => void (stdout += text), stderr: (text) => void (stderr += text), cwd: process.cwd(), env: {} };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

describe('flowd run with waits', () => {
  it('stops at a signal wait, says how to answer it, and exits 1', async () => {
    const result = await cli(['run', 'expense-approval', '--example', 'taxi']);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ status: 'waiting', waiting: { phase: 'decision', for: 'signal', signal: 'decision' } });
    expect(result.stderr).toContain('give --signal decision=JSON');
  });

  it('--signal delivers the decision and the run goes on to the payout', async () => {
    const result = await cli(['run', 'expense-approval', '--example', 'taxi', '--signal', 'decision={"approved":true,"approver":"m-1"}']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ status: 'succeeded', output: { approved: true, by: 'm-1', result: { amount: 42.5 } } });
  });

  it('--advance 3d runs the wait into its timeout at once', async () => {
    const result = await cli(['run', 'expense-approval', '--example', 'taxi', '--advance', '3d']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ status: 'succeeded', output: { approved: false, result: { note: 'no decision within 3 days' } } });
  });

  it('refuses a payload the wait\'s schema refuses, and a malformed --signal', async () => {
    const invalid = await cli(['run', 'expense-approval', '--example', 'taxi', '--signal', 'decision={"approved":"yes"}']);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('FLOWD_ERR_SIGNAL_INVALID');
    const malformed = await cli(['run', 'expense-approval', '--example', 'taxi', '--signal', 'decision']);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain('--signal must be name=JSON');
  });
});
