import type { z } from 'zod';
import { describeValue } from './suggest.js';
import { plainZodIssues, unknownKeyMessage } from './zod-words.js';

/** Where problems go while a flow is read: a path inside the file and a plain-words message. */
export type Reporter = (path: readonly PropertyKey[], message: string) => void;

type Shape = Readonly<Record<string, z.core.$ZodType>>;

export interface ParsedFields {
  /** The fields that passed their schema, parsed. */
  readonly data: Record<string, unknown>;
  /** Fields that were present but invalid, or required and missing. */
  readonly failed: ReadonlySet<string>;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks an object field by field against a strict object's shape, so one bad field does not
 * hide the others: every unknown key (with a did-you-mean), every invalid field and every missing
 * required one is reported, and the valid fields are returned for the checks that follow.
 * `skip` names fields the caller checks itself (nested phase lists); they count as allowed.
 */
export function parseFields(
  value: Record<string, unknown>,
  schema: z.ZodObject,
  path: readonly PropertyKey[],
  report: Reporter,
  skip: readonly string[] = [],
): ParsedFields {
  const shape = schema.shape as Shape;
  const allowed = Object.keys(shape);
  const data: Record<string, unknown> = {};
  const failed = new Set<string>();
  for (const [key, fieldValue] of Object.entries(value)) {
    if (skip.includes(key)) continue;
    const fieldSchema = Object.hasOwn(shape, key) ? shape[key] : undefined;
    if (fieldSchema === undefined) {
      report([...path, key], unknownKeyMessage(key, allowed));
      continue;
    }
    const parsed = (fieldSchema as z.ZodType).safeParse(fieldValue);
    if (parsed.success) {
      data[key] = parsed.data;
    } else {
      failed.add(key);
      for (const issue of plainZodIssues(parsed.error.issues, fieldValue, fieldSchema)) report([...path, key, ...issue.path], issue.message);
    }
  }
  for (const [key, fieldSchema] of Object.entries(shape)) {
    if (Object.hasOwn(value, key) || skip.includes(key)) continue;
    if (!(fieldSchema as z.ZodType).safeParse(undefined).success) {
      failed.add(key);
      report([...path, key], 'is required');
    }
  }
  return { data, failed };
}

/** `must be a list (found …)`-style message for a value of the wrong container type. */
export function mustBe(what: string, value: unknown): string {
  return `must be ${what} (found ${describeValue(value)})`;
}
