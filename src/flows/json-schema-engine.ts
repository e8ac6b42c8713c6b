import type { Ajv2020 } from 'ajv/dist/2020.js';
import type { DataValidateFunction, ErrorObject } from 'ajv/dist/types/index.js';
import { RE2JS } from 're2js';
import { canonicalJson } from './canonical-json.js';

/**
 * What makes JSON Schema validation safe on a shared event loop: with ajv's own engines, one
 * request could hold the process for seconds or minutes — a backtracking `pattern`
 * (`^(\w+\s?)*$` on 30 letters and a `!`: 52 s) or `uniqueItems` over objects (every pair compared:
 * 10 000 items, 6.5 s). Patterns run on RE2 (re2js: linear time in the string, no backtracking),
 * and uniqueItems compares a canonical text of each item (linear in the array's size).
 */
export function makeValidationLinear(ajv: Ajv2020): void {
  ajv.removeKeyword('uniqueItems');
  ajv.addKeyword({ keyword: 'uniqueItems', type: 'array', schemaType: 'boolean', errors: true, validate: uniqueItems });
}

/** ajv's `code.regExp`: patterns compiled by RE2 (linear time); what RE2 cannot run is refused at load. */
export const linearRegExp = Object.assign(
  (pattern: string, flags: string): { test: (input: string) => boolean; toString: () => string } => {
    let compiled: RE2JS;
    try {
      compiled = RE2JS.compile(pattern, flags.includes('i') ? RE2JS.CASE_INSENSITIVE : 0);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      throw new Error(
        `pattern ${JSON.stringify(pattern)} cannot run in linear time (${why}): flowd matches patterns with RE2, which has no lookaround and no backreferences; rewrite it without them`,
        { cause: error },
      );
    }
    // ajv shares compiled patterns by their text (`toString()`): each must name its own.
    const text = `/${pattern}/${flags}`;
    return { test: (input: string) => compiled.test(input), toString: () => text };
  },
  { code: 'linearRegExp' },
);

const uniqueItems: DataValidateFunction = function uniqueItems(this: unknown, schema: unknown, data: unknown): boolean {
  if (schema !== true || !Array.isArray(data) || data.length < 2) return true;
  const seen = new Map<string, number>();
  for (let i = 0; i < data.length; i++) {
    const key = canonicalJson(data[i]);
    const j = seen.get(key);
    if (j !== undefined) {
      const error: Partial<ErrorObject> = { keyword: 'uniqueItems', params: { i, j }, message: `must NOT have duplicate items (items ## ${j} and ${i} are identical)` };
      (uniqueItems as { errors?: Partial<ErrorObject>[] }).errors = [error];
      return false;
    }
    seen.set(key, i);
  }
  return true;
} as DataValidateFunction;
