/**
 * The test kit with waits: the expense-approval example runs through its approval, its rejection
 * and its 3-day timeout in milliseconds (fake clock); callbacks answered through the kit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFlows, mockComponent, type FlowTestKit } from '../../src/testing/index.js';

describe('test kit: waits, signals, callbacks and a fake clock', () => {
  let kit: FlowTestKit;

  beforeAll(async () => {
    kit = await loadFlows({
      flowsDir: 'flows',
      flows: [
        {
          name: 'callback-kit',
          components: { psp: { adapter: 'http', base_url: 'https://psp.example.com' } },
          phases: [
            { id: 'charge', component: 'psp', request: { method: 'POST', path: '/charges', body: { notify: '{% callback.url %}', token: '{% callback.token %}' } }, callback: { timeout: '1h' } },
          ],
        },
      ],
    });
  });

  afterAll(async () => {
    await kit.close();
  });

  it('an approval: the run stops at the wait, a signal runs it to the payout', async () => {
    const waiting = await kit.runExample('expense-approval', 'taxi');
    expect(waiting.status).toBe('waiting');
    expect(waiting.waiting).toMatchObject({ phase: 'decision', for: 'signal', signal: 'decision' });
    expect(waiting.phase('decision').status).toBe('waiting');
    const done = await kit.signal(waiting.executionId, 'decision', { approved: true, approver: 'm-3' });
    expect(done.success).toBe(true);
    expect(done.output).toMatchObject({ approved: true, by: 'm-3', result: { amount: 42.5 } });
    expect(done.calls('payroll')).toHaveLength(1);
  });

  it('a payload the schema refuses is refused before it reaches the execution', async () => {
    const waiting = await kit.runExample('expense-approval', 'taxi');
    await expect(kit.signal(waiting.executionId, 'decision', { approved: 'sure' })).rejects.toMatchObject({ code: 'FLOWD_ERR_SIGNAL_INVALID' });
    await expect(kit.signal(waiting.executionId, 'approve', {})).rejects.toMatchObject({ code: 'FLOWD_ERR_SIGNAL_INVALID' });
    const rejected = await kit.signal(waiting.executionId, 'decision', { approved: false, note: 'no receipt' });
    expect(rejected.output).toMatchObject({ approved: false, result: { note: 'no receipt' } });
    await expect(kit.signal(waiting.executionId, 'decision', { approved: true })).rejects.toMatchObject({ code: 'FLOWD_ERR_EXECUTION_ENDED' });
  });

  it('three days pass in a call: the timeout output rejects the claim', async () => {
    const waiting = await kit.runExample('expense-approval', 'taxi');
    expect(await kit.advance(2 * 86_400_000)).toEqual([]);
    const [timedOut, ...others] = await kit.advance(86_400_000);
    expect(others).toEqual([]);
    expect(timedOut?.executionId).toBe(waiting.executionId);
    expect(timedOut?.output).toMatchObject({ approved: false, result: { note: 'no decision within 3 days' } });
  });

  it('a callback phase: the request carries the token, the kit answers it, the output is the callback\'s', async () => {
    kit.mock(mockComponent('psp', { status: 202, body: { accepted: true } }));
    const waiting = await kit.run('callback-kit', {});
    expect(waiting.waiting).toMatchObject({ phase: 'charge', for: 'callback' });
    const [sent] = waiting.calls('psp');
    expect((sent?.request as { body: { token: string } }).body.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const done = await kit.callback(waiting.executionId, 'charge', { status: 'succeeded', output: { paid: true } });
    expect(done.output).toEqual({ paid: true });
    const failing = await kit.run('callback-kit', {});
    const failed = await kit.callback(failing.executionId, 'charge', { status: 'failed', error: { message: 'declined' } });
    expect(failed.error).toMatchObject({ code: 'FLOWD_ERR_CALLBACK_FAILED', phase: 'charge' });
    kit.reset();
  });
});
