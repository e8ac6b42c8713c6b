import fc from 'fast-check';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { sqlArray, textArray } from '../../src/store/postgres-batch.js';

const { prepareValue } = createRequire(import.meta.url)('pg/lib/utils.js') as { prepareValue: (value: unknown) => unknown };

describe('textArray: the text[] literal of the journal columns', () => {
  it('is exactly what the pg driver builds from the same array, for any strings and nulls', () => {
    const text = fc.oneof(fc.string({ unit: 'binary' }), fc.jsonValue().map((value) => JSON.stringify(value)), fc.constantFrom('', 'NULL', '{"a":"b\\\\c"}', 'x,y}{"'));
    fc.assert(
      fc.property(fc.array(fc.option(text, { nil: null }), { maxLength: 20 }), (values) => {
        expect(textArray(values)).toBe(prepareValue(values));
      }),
      { numRuns: 2000, examples: [[['lone \ud800', 'nul \u0000', 'tab\t', '🎉 pair', 'quote " back \\']]] },
    );
  });

  it('sqlArray: the same for the other columns of the batch (numbers, booleans, strings, nulls)', () => {
    const value = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.string({ unit: 'binary' }), fc.constant(null));
    fc.assert(
      fc.property(fc.array(value, { maxLength: 20 }), (values) => {
        expect(sqlArray(values)).toBe(prepareValue(values));
      }),
      { numRuns: 1000, examples: [[[1, -0, 2.5, true, false, null, 'x"y', 1_796_522_896_448]]] },
    );
  });
});
