import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { buildEngine } from '../../src/library.js';

describe('caller signals', () => {
  it('leaves no listener behind on a long-lived caller signal (regression: one leaked per execution)', async () => {
    const { engine } = await buildEngine({
      flows: [
        { name: 'child', phases: [{ id: 'c', component: 'transform', request: 1 }] },
        { name: 'parent', phases: [{ id: 'sub', flow: 'child' }, { id: 'each', map: { items: '{% [1, 2, 3] %}', phases: [{ id: 'i', component: 'transform', request: '{% item %}' }] } }] },
      ],
    });
    const caller = new AbortController();
    for (let i = 0; i < 20; i++) expect((await engine.execute('parent', {}, { signal: caller.signal })).status).toBe('succeeded');
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
    await engine.close();
  });

  it('a caller signal that is already aborted cancels the execution before any phase runs', async () => {
    const { engine } = await buildEngine({ flows: [{ name: 'f', phases: [{ id: 'p', component: 'transform', request: 1 }] }] });
    const record = await engine.execute('f', {}, { signal: AbortSignal.abort() });
    expect(record.status).toBe('cancelled');
    expect(record.phases).toHaveLength(0);
    await engine.close();
  });
});

describe('recovery flows that cannot start', () => {
  it('keep the original failure as the cause instead of failing the execute call', async () => {
    const { engine } = await buildEngine({
      flows: [
        { name: 'strict-recovery', input: { type: 'object', required: ['ticket'] }, phases: [{ id: 'r', component: 'transform', request: 1 }] },
        {
          name: 'flaky',
          recovery_flow: { flow: 'strict-recovery', on: ['FLOWD_ERR_COMPONENT_FAILED'] },
          components: { down: { adapter: 'mock', sequence: [{ status: 503 }], retry_policy: { max_attempts: 1 } } },
          phases: [{ id: 'call', component: 'down' }],
        },
      ],
    });
    const record = await engine.execute('flaky', {});
    expect(record.status).toBe('failed');
    expect(record.recovered).toBe(false);
    expect(record.error).toMatchObject({ code: 'FLOWD_ERR_INPUT_INVALID', cause: { code: 'FLOWD_ERR_COMPONENT_FAILED', phase: 'call' } });
    await engine.close();
  });
});
