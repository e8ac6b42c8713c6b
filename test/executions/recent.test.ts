import { describe, expect, it } from 'vitest';
import { Journal } from '../../src/engine/journal/journal.js';
import { RecentExecutions } from '../../src/executions/recent.js';

function journalOf(executionId: string): Journal {
  const journal = new Journal(() => 0);
  journal.append({ type: 'execution_started', executionId, flow: 'f', version: '1', hash: 'h', input: null });
  return journal;
}

describe('RecentExecutions (the newest EXECUTIONS_MAX journals that were not stored)', () => {
  it('keeps the newest, evicts the oldest first, and a read does not keep one longer', () => {
    const recent = new RecentExecutions(2);
    const [a, b, c] = ['01a00000-0000-7000-8000-000000000001', '01a00000-0000-7000-8000-000000000002', '01a00000-0000-7000-8000-000000000003'];
    recent.add(journalOf(a));
    recent.add(journalOf(b));
    expect(recent.get(a)?.executionId).toBe(a);
    recent.add(journalOf(c));
    expect(recent.get(a)).toBeUndefined();
    expect(recent.size).toBe(2);
    expect(recent.newestFirst().map((journal) => journal.executionId)).toEqual([c, b]);
  });

  it('holds one journal per execution: adding it again replaces it and counts as newest', () => {
    const recent = new RecentExecutions(2);
    const [a, b, c] = ['01a00000-0000-7000-8000-00000000000a', '01a00000-0000-7000-8000-00000000000b', '01a00000-0000-7000-8000-00000000000c'];
    recent.add(journalOf(a));
    recent.add(journalOf(b));
    const again = journalOf(a);
    recent.add(again);
    expect(recent.size).toBe(2);
    recent.add(journalOf(c));
    expect(recent.get(a)).toBe(again);
    expect(recent.get(b)).toBeUndefined();
  });
});
