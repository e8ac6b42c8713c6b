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
