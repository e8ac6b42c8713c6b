import type { z } from 'zod';
import { describeValue, didYouMean, listNames } from './suggest.js';

/** One problem in plain words, at a path relative to the value that was checked. */
export interface PlainIssue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

type Issue = z.core.$ZodIssue;
type AnySchema = z.core.$ZodType;

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  object: 'a mapping (object)',
  record: 'a mapping (object)',
  array: 'a list',
  null: 'null',
};

/**
 * Zod's issues rewritten for people: what is wrong at which path, what was found and what is
 * allowed, with a did-you-mean for near names (`unknown key "reqest" (did you mean "request"?)`).
 * `schema` is the schema that produced the issues: it tells which keys an object allows;
 * `extraKeys` adds keys allowed at the top that the schema does not list.
 */
export function plainZodIssues(issues: readonly Issue[], input: unknown, schema: AnySchema, extraKeys: readonly string[] = []): PlainIssue[] {
  return issues.flatMap((issue) => plainIssue(issue, input, schema, extraKeys));
}

function plainIssue(issue: Issue, input: unknown, schema: AnySchema, extraKeys: readonly string[]): PlainIssue[] {
  const value = valueAt(input, issue.path);
  const at = (message: string): PlainIssue[] => [{ path: issue.path, message }];
  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowed = [...new Set([...keysAt(schema, issue.path), ...(issue.path.length === 0 ? extraKeys : [])])];
      return issue.keys.map((key) => ({ path: [...issue.path, key], message: unknownKeyMessage(key, allowed) }));
    }
    case 'invalid_type':
      if (value === undefined) return at('is required');
      return at(`must be ${TYPE_WORDS[issue.expected] ?? issue.expected} (found ${describeValue(value)})`);
    case 'too_small':
    case 'too_big':
      return at(`${sizeWords(issue)} (found ${describeValue(value)})`);
    case 'invalid_value': {
      const allowed = issue.values.map((option) => String(option));
      const near = typeof value === 'string' ? didYouMean(value, allowed) : '';
      return at(`must be one of: ${listNames(allowed)} (found ${describeValue(value)})${near}`);
    }
    case 'invalid_format':
      return at(`${issue.message.startsWith('Invalid') ? `must match ${issue.pattern ?? issue.format}` : issue.message} (found ${describeValue(value)})`);
    case 'invalid_key': {
      const key = issue.path[issue.path.length - 1];
      const reason = issue.issues[0]?.message ?? 'is not allowed';
      return at(`${JSON.stringify(key)} is not a valid name here: ${reason.replace(/^Invalid string: /, '')}`);
    }
    case 'invalid_union':
      return unionIssues(issue, input, schema, value);
    case 'not_multiple_of':
      return at(`must be a multiple of ${String(issue.divisor)} (found ${describeValue(value)})`);
    default:
      return at(issue.message);
  }
}

export function unknownKeyMessage(key: string, allowed: readonly string[]): string {
  return `unknown key "${key}"${didYouMean(key, allowed)}; allowed here: ${listNames([...allowed].sort(), 40)}`;
}

function sizeWords(issue: Extract<Issue, { code: 'too_small' | 'too_big' }>): string {
  const small = issue.code === 'too_small';
  const limit = small ? (issue as { minimum: number | bigint }).minimum : (issue as { maximum: number | bigint }).maximum;
  const inclusive = issue.inclusive !== false;
  switch (issue.origin) {
    case 'string':
      return `must have ${small ? 'at least' : 'at most'} ${String(limit)} character${Number(limit) === 1 ? '' : 's'}`;
    case 'array':
    case 'set':
      return `must have ${small ? 'at least' : 'at most'} ${String(limit)} item${Number(limit) === 1 ? '' : 's'}`;
    default:
      if (inclusive) return `must be ${small ? 'at least' : 'at most'} ${String(limit)}`;
      return `must be ${small ? 'greater' : 'less'} than ${String(limit)}`;
  }
}

/** A union failed: name the branch meant for the value's type, or the types the union accepts. */
function unionIssues(issue: Extract<Issue, { code: 'invalid_union' }>, input: unknown, schema: AnySchema, value: unknown): PlainIssue[] {
  const branches = issue.errors.filter((errors) => !(errors.length === 1 && errors[0]?.code === 'invalid_type' && errors[0].path.length === 0));
  if (branches.length === 1) {
    const nested = branches[0]!.map((inner) => ({ ...inner, path: [...issue.path, ...inner.path] }));
    return plainZodIssues(nested, input, schema);
  }
  const expected = issue.errors.flatMap((errors) => (errors[0]?.code === 'invalid_type' ? [TYPE_WORDS[errors[0].expected] ?? errors[0].expected] : []));
  const what = expected.length > 0 ? `must be ${[...new Set(expected)].join(' or ')}` : 'is not valid';
  return [{ path: issue.path, message: `${what} (found ${describeValue(value)})` }];
}

export function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/** The keys an object schema allows at `path` inside `schema` (through optionals, lists, records, unions, lazies). */
export function keysAt(schema: AnySchema, path: readonly PropertyKey[]): string[] {
  let current: AnySchema[] = [schema];
  for (const key of path) current = current.flatMap((candidate) => childSchemas(candidate, key));
  return [...new Set(current.flatMap(objectKeys))];
}

function unwrap(schema: AnySchema): AnySchema[] {
  const def = schema._zod.def as unknown as Record<string, unknown> & { type: string };
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'catch':
      return unwrap(def['innerType'] as AnySchema);
    case 'lazy':
      return unwrap((def['getter'] as () => AnySchema)());
    case 'pipe':
      return unwrap(def['in'] as AnySchema);
    case 'union':
      return (def['options'] as AnySchema[]).flatMap(unwrap);
    default:
      return [schema];
  }
}

function childSchemas(schema: AnySchema, key: PropertyKey): AnySchema[] {
  return unwrap(schema).flatMap((inner) => {
    const def = inner._zod.def as unknown as Record<string, unknown> & { type: string };
    if (def.type === 'object') {
      const shape = def['shape'] as Record<string, AnySchema>;
      return typeof key === 'string' && Object.hasOwn(shape, key) ? [shape[key]!] : [];
    }
    if (def.type === 'array') return typeof key === 'number' ? [def['element'] as AnySchema] : [];
    if (def.type === 'record') return [def['valueType'] as AnySchema];
    return [];
  });
}

function objectKeys(schema: AnySchema): string[] {
  return unwrap(schema).flatMap((inner) => {
    const def = inner._zod.def as unknown as Record<string, unknown> & { type: string };
    return def.type === 'object' ? Object.keys(def['shape'] as Record<string, unknown>) : [];
  });
}
