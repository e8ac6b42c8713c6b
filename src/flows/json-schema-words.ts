import type { ErrorObject } from 'ajv';
import { describeValue, didYouMean, listNames } from './suggest.js';

/** One problem in plain words: `input.lines` `must be an integer (found a string)`. */
export interface PlainJsonSchemaIssue {
  readonly path: string;
  readonly message: string;
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
  null: 'null',
};

/**
 * ajv's errors rewritten in plain words, one per place: "input.lines must be an integer (found a
 * string)", "input.items must have at least 1 item". Union noise is folded: `anyOf`/`oneOf`
 * summaries and the `type` errors of branches meant for other types give way to the error that
 * fits the value, and type-only failures merge into "must be a string or an integer".
 * `showValues` names the value found (flow files) instead of only its type (callers' input,
 * which may be sensitive). Runs only when validation failed: nothing on the success path.
 */
export function plainJsonSchemaIssues(errors: readonly ErrorObject[], root: string, data: unknown, showValues: boolean): PlainJsonSchemaIssue[] {
  const byPath = new Map<string, ErrorObject[]>();
  for (const error of errors) {
    const path = issuePath(root, error);
    byPath.set(path, [...(byPath.get(path) ?? []), error]);
  }
  const issues: PlainJsonSchemaIssue[] = [];
  for (const [path, group] of byPath) {
    const specific = group.filter((error) => error.keyword !== 'anyOf' && error.keyword !== 'oneOf');
    const nonType = specific.filter((error) => error.keyword !== 'type');
    const chosen = nonType.length > 0 ? nonType : specific.length > 0 ? specific : group;
    const value = valueAtPointer(data, chosen[0]!.instancePath);
    const found = value === undefined ? '' : ` (found ${showValues ? describeValue(value) : typeOf(value)})`;
    if (chosen.every((error) => error.keyword === 'type')) {
      const types = chosen.flatMap((error) => [error.params['type'] as string | string[]].flat());
      issues.push({ path, message: `must be ${[...new Set(types)].map((type) => TYPE_WORDS[type] ?? type).join(' or ')}${found}` });
      continue;
    }
    for (const error of chosen) issues.push({ path, message: keywordWords(error, showValues) + (needsFound(error, showValues) ? found : '') + nearValue(error, value, showValues) });
  }
  return issues;
}

/** A did-you-mean for a string close to one of an enum's values (flow files only). */
function nearValue(error: ErrorObject, value: unknown, showValues: boolean): string {
  if (error.keyword !== 'enum' || !showValues || typeof value !== 'string') return '';
  return didYouMean(value, (error.params['allowedValues'] as unknown[]).map(String));
}

const COUNT_WORDS: Record<string, readonly [string, string, string]> = {
  minLength: ['at least', 'character', 'characters'],
  maxLength: ['at most', 'character', 'characters'],
  minItems: ['at least', 'item', 'items'],
  maxItems: ['at most', 'item', 'items'],
  minProperties: ['at least', 'property', 'properties'],
  maxProperties: ['at most', 'property', 'properties'],
};

function keywordWords(error: ErrorObject, showValues: boolean): string {
  const params = error.params as Record<string, unknown>;
  const limit = String(params['limit']);
  switch (error.keyword) {
    case 'required':
      return 'is required';
    case 'additionalProperties': {
      const properties = Object.keys((error.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {});
      const extra = String(params['additionalProperty']);
      return `is not allowed here${didYouMean(extra, properties)}; properties allowed: ${listNames(properties)}`;
    }
    case 'minimum':
      return `must be at least ${limit}`;
    case 'maximum':
      return `must be at most ${limit}`;
    case 'exclusiveMinimum':
      return `must be greater than ${limit}`;
    case 'exclusiveMaximum':
      return `must be less than ${limit}`;
    case 'minLength':
    case 'maxLength':
    case 'minItems':
    case 'maxItems':
    case 'minProperties':
    case 'maxProperties': {
      const [bound, one, many] = COUNT_WORDS[error.keyword]!;
      return `must have ${bound} ${limit} ${limit === '1' ? one : many}`;
    }
    case 'pattern':
      return `must match the pattern ${String(params['pattern'])}`;
    case 'format':
      return `must be a valid ${String(params['format'])}`;
    case 'multipleOf':
      return `must be a multiple of ${String(params['multipleOf'])}`;
    case 'uniqueItems':
      return `must not repeat items (items ${String(params['j'])} and ${String(params['i'])} are equal)`;
    case 'enum': {
      const allowed = (params['allowedValues'] as unknown[]).map((option) => (showValues || typeof option !== 'string' ? JSON.stringify(option) : `"${option}"`));
      return `must be one of: ${listNames(allowed)}`;
    }
    case 'const':
      return `must be ${JSON.stringify(params['allowedValue'])}`;
    case 'type':
      return `must be ${[params['type'] as string | string[]].flat().map((type) => TYPE_WORDS[type] ?? type).join(' or ')}`;
    default:
      return error.message ?? 'is invalid';
  }
}

/**
 * Messages about a value's content say what was found (`required` and `additionalProperties` need
 * not). For callers' input only its type is named, and only where the type is what is wrong.
 */
function needsFound(error: ErrorObject, showValues: boolean): boolean {
  if (!showValues) return error.keyword === 'type';
  return error.keyword !== 'required' && error.keyword !== 'additionalProperties';
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a number';
  return TYPE_WORDS[typeof value] ?? `a ${typeof value}`;
}

/** `input.items[0].qty`, with the missing or extra property named for `required` and `additionalProperties`. */
function issuePath(root: string, error: ErrorObject): string {
  let path = root;
  for (const segment of pointerSegments(error.instancePath)) path += /^\d+$/.test(segment) ? `[${segment}]` : `.${segment}`;
  if (error.keyword === 'required') path += `.${String(error.params['missingProperty'])}`;
  if (error.keyword === 'additionalProperties') path += `.${String(error.params['additionalProperty'])}`;
  return path;
}

function pointerSegments(pointer: string): string[] {
  return pointer
    .split('/')
    .slice(1)
    .map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'));
}

function valueAtPointer(data: unknown, pointer: string): unknown {
  let value = data;
  for (const segment of pointerSegments(pointer)) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[segment];
  }
  return value;
}
