/** `flowd run` with a flow that waits: it stops at the wait, --signal answers it, --advance moves the clock. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/cli-io.js';
import { runCli } from '../../src/cli/main.js';
import { makeFlowDir } from '../helpers/flow-dir.js';

async function cli(argv: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (text) => void (stdout += text), stderr: (text) => void (stderr += text), cwd: process.cwd(), env };
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

describe('flowd run with a callback (task token)', () => {
  let upstream: Server;
  let flows: ReturnType<typeof makeFlowDir>;
  const charged: unknown[] = [];

  beforeAll(async () => {
    upstream = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        charged.push(JSON.parse(body));
        response.writeHead(202, { 'content-type': 'application/json' }).end('{"accepted":true}');
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const port = (upstream.address() as AddressInfo).port;
    flows = makeFlowDir({
      'pay.yaml': `name: pay
components: { psp: { adapter: http, base_url: "http://127.0.0.1:${port}" } }
phases:
  - id: charge
    component: psp
    request: { method: POST, path: /charge, body: "{% {'amount': input.amount, 'notify': callback.url} %}" }
    callback: { timeout: 1h, schema: { type: object, required: [paymentId] } }
output: "{% phases.charge %}"
`,
    });
  });

  afterAll(async () => {
    flows?.cleanup();
    await new Promise((resolve) => upstream?.close(resolve));
  });

  const run = (...extra: string[]) => cli(['run', 'pay', '--flows', flows.dir, '--input', '{"amount":5}', ...extra], { EGRESS_ALLOW: '127.0.0.1' });

  it('stops at the callback after the call, and says how to answer it', async () => {
    const result = await run();
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ status: 'waiting', waiting: { phase: 'charge', for: 'callback' } });
    expect(result.stderr).toContain('give --callback charge=JSON');
    expect(charged.at(-1)).toMatchObject({ amount: 5, notify: expect.stringMatching(/\/callbacks\/[A-Za-z0-9_-]{16,}$/) as unknown });
  });

  it('--callback answers it as POST /callbacks/{token} would: the output goes on, a failure fails the phase', async () => {
    const paid = await run('--callback', 'charge={"status":"succeeded","output":{"paymentId":"p-1"}}');
    expect([paid.code, paid.stderr]).toEqual([0, '']);
    expect(JSON.parse(paid.stdout)).toMatchObject({ status: 'succeeded', output: { paymentId: 'p-1' } });
    const declined = await run('--callback', 'charge={"status":"failed","error":{"message":"card declined"}}');
    expect(declined.code).toBe(1);
    expect(JSON.parse(declined.stdout)).toMatchObject({ status: 'failed', error: { code: 'FLOWD_ERR_CALLBACK_FAILED', phase: 'charge' } });
  });

  it("refuses an output the callback's schema refuses, a body of another shape, and another phase", async () => {
    const invalid = await run('--callback', 'charge={"status":"succeeded","output":{}}');
    expect([invalid.code, invalid.stderr]).toEqual([2, expect.stringContaining('FLOWD_ERR_SIGNAL_INVALID') as unknown]);
    const shape = await run('--callback', 'charge={"paymentId":"p-1"}');
    expect([shape.code, shape.stderr]).toEqual([2, expect.stringContaining('--callback takes {"status":"succeeded"') as unknown]);
    const other = await run('--callback', 'refund={"status":"succeeded"}');
    expect([other.code, other.stderr]).toEqual([2, expect.stringContaining('waits for the callback of phase "charge"') as unknown]);
  });
});
