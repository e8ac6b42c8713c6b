/**
 * What the durable layer stores beside an ended journal (status, error code, recovered) is read
 * from the entries without building the record: it must say what the record says.
 */
import { describe, expect, it } from 'vitest';
import { finishedSummary } from '../../src/durable/durable-run.js';
import { recordView } from '../../src/engine/journal/record-view.js';
import { createEngine } from '../../src/library.js';

const fails = { adapter: 'mock', responses: { default: { status: 500, body: { reason: 'down' } } } };
const ok = { adapter: 'mock', responses: { default: { status: 201, body: { id: 'r-1' } } } };
const retry = { retry_policy: { max_attempts: 1 } };
const FLOWS = [
  { name: 'fine', phases: [{ id: 'sum', component: 'transform', request: '{% input.a + 1 %}' }] },
  { name: 'broken', components: { down: fails }, defaults: retry, phases: [{ id: 'call', component: 'down', request: { method: 'GET', path: '/x' } }] },
  {
    name: 'undone',
    transactional: true,
    components: { down: fails, up: ok },
    defaults: retry,
    phases: [
      { id: 'reserve', component: 'up', request: { method: 'POST', path: '/r' }, compensate: { request: { method: 'DELETE', path: '/r/1' } } },
      { id: 'charge', component: 'down', request: { method: 'POST', path: '/c' } },
    ],
  },
  { name: 'rescue', phases: [{ id: 'note', component: 'transform', request: '{% {"rescued": true} %}' }] },
  {
    name: 'recovered',
    components: { down: fails },
    defaults: retry,
    recovery_flow: { flow: 'rescue' },
    phases: [{ id: 'call', component: 'down', request: { method: 'GET', path: '/x' } }],
  },
];

describe('finishedSummary', () => {
  it.each(['fine', 'broken', 'undone', 'recovered'])('says what the record of a "%s" execution says', async (name) => {
    const engine = await createEngine({ flows: FLOWS });
    const started = engine.start(name, { a: 1 });
    await started.done;
    await engine.close();
    const record = recordView(started.journal.entries);
    expect(finishedSummary(started.journal)).toEqual({ status: record.status, errorCode: record.error?.code, recovered: record.recovered });
    // A recovered execution keeps its failure (status, error) and says it was recovered.
    expect(record.status).toBe({ fine: 'succeeded', broken: 'failed', undone: 'compensated', recovered: 'failed' }[name]);
    expect(record.recovered).toBe(name === 'recovered');
    expect(record.error?.code).toBe(name === 'fine' ? undefined : 'FLOWD_ERR_COMPONENT_FAILED');
  });
});
