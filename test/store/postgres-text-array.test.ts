import fc from 'fast-check';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { textArray } from '../../src/store/postgres-batch.js';

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
});
