import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isoTime } from '../../src/engine/iso-time.js';

describe('isoTime (toISOString with a one-entry memory and the current second remembered)', () => {
  it('equals new Date(ms).toISOString() for any sequence of times, repeated or not', () => {
    // Wide times, times a few seconds apart (the same second's prefix reused), and the edges.
    const time = fc.oneof(
      fc.integer({ min: 0, max: 4_102_444_800_000 }),
      fc.integer({ min: 1_764_000_000_000, max: 1_764_000_003_000 }),
      fc.constantFrom(0, 1, 999, 1000, 1_764_000_000_000, 1_764_000_000_000.5, 1_764_000_000_999, -1, 253_402_300_799_999, 253_402_300_800_000),
    );
    fc.assert(
      fc.property(fc.array(time, { minLength: 1, maxLength: 20 }), (times) => {
        for (const ms of [...times, ...times.slice().reverse()]) expect(isoTime(ms)).toBe(new Date(ms).toISOString());
      }),
    );
  });

  it('throws like toISOString for an invalid time', () => {
    expect(() => isoTime(Number.NaN)).toThrow(RangeError);
    expect(isoTime(5)).toBe('1970-01-01T00:00:00.005Z');
  });
});
