import { describe, expect, it } from 'vitest';
import { EXECUTION_ID_PATTERN, newExecutionId } from '../../src/engine/ids.js';

describe('execution ids', () => {
  it('are UUIDv7: the version and variant bits are set and every id is distinct', () => {
    const ids = Array.from({ length: 2000 }, () => newExecutionId());
    for (const id of ids) expect(id).toMatch(EXECUTION_ID_PATTERN);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('sort by creation time, which keyset pagination relies on', () => {
    const times = [1_700_000_000_000, 1_700_000_000_001, 1_700_000_050_000, 1_800_000_000_000];
    const ids = times.map((time) => newExecutionId(time));
    expect([...ids].sort()).toEqual(ids);
    expect(ids[0]!.replaceAll('-', '').slice(0, 12)).toBe(times[0]!.toString(16).padStart(12, '0'));
  });

  it('sort in creation order within one millisecond too (a counter, not random bits, after the time)', () => {
    const now = 1_700_000_000_123;
    const ids = Array.from({ length: 2000 }, () => newExecutionId(now));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    // The next millisecond sorts after all of them, wherever its counter starts.
    expect(newExecutionId(now + 1) > ids.at(-1)!).toBe(true);
  });
});
