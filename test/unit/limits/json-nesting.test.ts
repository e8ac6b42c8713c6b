import { describe, expect, it } from 'vitest';
import { LimitExceededError } from '../../../src/errors.js';
import { MAX_VALUE_NESTING, assertNestingWithin, findTooDeeplyNested } from '../../../src/limits/json-nesting.js';

/** `[[[…]]]` with `levels` arrays, built without recursion. */
function nested(levels: number): unknown {
  let value: unknown = [];
  for (let i = 1; i < levels; i++) value = [value];
  return value;
}

describe('findTooDeeplyNested / assertNestingWithin (the store and serialiser guard)', () => {
  it('accepts values nested up to the limit, scalars, and wide but shallow values', () => {
    expect(findTooDeeplyNested(nested(MAX_VALUE_NESTING))).toBeUndefined();
    expect(findTooDeeplyNested('text')).toBeUndefined();
    expect(findTooDeeplyNested({ a: Array.from({ length: 10_000 }, (_, i) => ({ i })) })).toBeUndefined();
  });

  it('names the path of the first level past the limit', () => {
    expect(findTooDeeplyNested({ a: [{ b: nested(3) }] }, 4)).toBe('$.a[0].b[0]');
    expect(findTooDeeplyNested({ 'odd key': nested(3) }, 2)).toBe('$["odd key"][0]');
  });

  it('checks 100 000 levels without overflowing the stack (where JSON.stringify throws)', () => {
    const deep = nested(100_000);
    expect(() => JSON.stringify(deep)).toThrow(RangeError);
    expect(findTooDeeplyNested(deep)).toMatch(/^\$\[0\]\[0\]/);
  });

  it('reports a cyclic value as too deep instead of looping', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(findTooDeeplyNested(cyclic)).toMatch(/^\$\.self\.self/);
  });

  it('assertNestingWithin throws FLOWD_ERR_LIMIT_EXCEEDED naming what was refused', () => {
    const record = { executionId: 'e-1', output: nested(MAX_VALUE_NESTING + 5) };
    let error: unknown;
    try {
      assertNestingWithin(record, 'execution record e-1');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(LimitExceededError);
    expect((error as LimitExceededError).code).toBe('FLOWD_ERR_LIMIT_EXCEEDED');
    expect((error as LimitExceededError).message).toMatch(new RegExp(`^execution record e-1 is nested deeper than ${MAX_VALUE_NESTING} levels \\(at \\$\\.output\\[0\\]`));
    expect(() => assertNestingWithin({ output: nested(10) }, 'record')).not.toThrow();
  });
});
