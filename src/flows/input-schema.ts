import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { InputIssue } from '../errors.js';
import { linearRegExp, makeValidationLinear } from './json-schema-engine.js';
import { plainJsonSchemaIssues } from './json-schema-words.js';
import { didYouMean, listNames } from './suggest.js';

// ajv-formats is CommonJS; its default export arrives wrapped under ESM interop.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => Ajv2020;

/** One validator factory for every flow: compiled once per flow at load, reused by every request. */
const ajv = new Ajv2020({
  allErrors: true,
  // Errors carry their schema, so a message can list the properties allowed (only built on failure).
  verbose: true,
  // Unknown keywords and formats are errors (a typo must not silently accept everything);
  // `required` without a matching `properties` entry is valid JSON Schema and stays allowed.
  strictSchema: true,
  strictNumbers: true,
  strictTypes: false,
  strictTuples: false,
  strictRequired: false,
  allowUnionTypes: true,
  coerceTypes: false,
  useDefaults: false,
  // A schema's `$id` is not registered in the shared instance: the same flow compiled again (a
  // reload) or two flows naming the same `$id` would be refused as "already exists".
  addUsedSchema: false,
  // Patterns in linear time (RE2), so no input can make one backtrack (json-schema-engine.ts).
  code: { regExp: linearRegExp },
});
addFormats(ajv);
makeValidationLinear(ajv);

/** Keywords ajv validates, plus the annotations and structure keywords of JSON Schema 2020-12. */
const KNOWN_KEYWORDS = [
  ...Object.keys((ajv as unknown as { RULES: { all: Record<string, unknown> } }).RULES.all),
  ...['$schema', '$id', '$anchor', '$defs', 'definitions', '$vocabulary', 'title', 'description', 'default', 'examples', 'deprecated', 'readOnly', 'writeOnly', 'contentMediaType', 'contentEncoding', 'contentSchema'],
];
const KNOWN_FORMATS = Object.keys((ajv as unknown as { formats: Record<string, unknown> }).formats);
const SCHEMA_MAPS = ['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas'];
const SCHEMA_SINGLES = ['items', 'additionalProperties', 'unevaluatedProperties', 'unevaluatedItems', 'not', 'if', 'then', 'else', 'contains', 'propertyNames'];
const SCHEMA_LISTS = ['prefixItems', 'allOf', 'anyOf', 'oneOf'];

type Report = (path: string, message: string) => void;
/** Where something is inside a schema: keys and list indices. */
type Segment = string | number;
export type InputValidator = (input: unknown) => readonly InputIssue[] | undefined;

/**
 * Compiles a flow's input JSON Schema. An invalid schema is reported in plain words, every
 * problem at its path (`input.properties.lines.type: must be one of: … (found the string
 * "integr") (did you mean "integer"?)`, unknown keywords and formats with a did-you-mean), and
 * undefined is returned. The validator returns undefined for valid input, else the issues in
 * plain words; the wording is built only when the input is invalid.
 */
export function compileInputSchema(
  schema: Record<string, unknown>,
  report: Report,
  /** Where the schema is (its issues' paths start with it) and what it checks (issues about values start with `root`). */
  at: { readonly path: string; readonly root: string } = { path: 'input', root: 'input' },
): InputValidator | undefined {
  let problems = 0;
  checkKeywords(schema, at.path, (path, message) => {
    problems += 1;
    report(path, message);
  });
  if (!ajv.validateSchema(schema)) {
    for (const issue of plainJsonSchemaIssues(ajv.errors ?? [], at.path, schema, true)) report(issue.path, `invalid JSON Schema: ${issue.message}`);
    return undefined;
  }
  if (problems > 0) return undefined;
  let validate;
  try {
    validate = ajv.compile(schema);
  } catch (error) {
    report(at.path, `invalid JSON Schema: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
  return validatorOf(validate, at.root);
}

function validatorOf(validate: ValidateFunction, root: string): InputValidator {
  return (input) => {
    if (validate(input)) return undefined;
    const errors = validate.errors ?? [];
    if (errors.length <= MAX_ISSUES) return plainJsonSchemaIssues(errors, root, input, false);
    // A small body can hold thousands of mistakes: the answer names the first ones and counts the rest.
    const issues = plainJsonSchemaIssues(errors.slice(0, MAX_ISSUES), root, input, false);
    return [...issues, { path: root, message: `has ${errors.length - MAX_ISSUES} more problems, not listed (the first ${MAX_ISSUES} are)` }];
  };
}

/** Keywords that check only the value they sit on (or annotate it): without one, a schema allows more, never less. */
const LOCAL_KEYWORDS = new Set([
  ...['type', 'enum', 'const', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'minLength', 'maxLength', 'pattern', 'format'],
  ...['minItems', 'maxItems', 'uniqueItems', 'minProperties', 'maxProperties', 'required', 'dependentRequired', '$comment'],
  ...['title', 'description', 'default', 'examples', 'deprecated', 'readOnly', 'writeOnly', 'contentMediaType', 'contentEncoding', 'contentSchema'],
]);
/** Where a schema that allows more can make the whole allow less (`not`, `if`, `oneOf`, `contains` under maxContains), or is used from anywhere (`$defs`). */
const NOT_MONOTONE = new Set(['not', 'if', 'oneOf', 'contains', '$defs', 'definitions']);

/**
 * For a schema with problems (compileInputSchema reported them): a validator of what it allows
 * for sure — the schema without its broken keywords (unknown ones, invalid values) and with its
 * broken subschemas read as `true`. It allows at least what any fix allows, so a value it refuses
 * is wrong whatever the fix: examples and schedule inputs are checked in the same pass. Undefined
 * when that is not sure (a problem under `not`, `if`, `oneOf`, `contains` or `$defs`, or in a
 * keyword that holds subschemas, such as `properties: 5`) or what is left does not compile.
 */
export function salvagedInputValidator(schema: Record<string, unknown>, root = 'input'): InputValidator | undefined {
  const broken: Segment[][] = [];
  checkKeywords(schema, '', (_path, _message, at) => broken.push([...at]));
  if (!ajv.validateSchema(schema)) {
    for (const error of ajv.errors ?? []) broken.push(error.instancePath.split('/').slice(1).map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~')));
  }
  const pruned = structuredClone(schema);
  for (const at of broken) {
    const place = placeOf(at);
    if (place === undefined) return undefined;
    const parent = valueAtPath(pruned, place.path.slice(0, -1));
    const last = place.path[place.path.length - 1]!;
    if (typeof parent !== 'object' || parent === null || !Object.hasOwn(parent, last)) continue; // inside a part already left out
    if (place.subschema) (parent as Record<Segment, unknown>)[last] = true;
    else delete (parent as Record<Segment, unknown>)[last];
  }
  let problems = 0;
  checkKeywords(pruned, '', () => (problems += 1));
  if (problems > 0 || !ajv.validateSchema(pruned)) return undefined;
  try {
    const validate = ajv.compile(pruned);
    // Used once, for this load: dropped from ajv's cache of compiled schemas.
    ajv.removeSchema(pruned);
    return validatorOf(validate, root);
  } catch {
    return undefined;
  }
}

/**
 * What to leave out for a problem at `at` (a path inside the schema, from checkKeywords or an ajv
 * pointer): a keyword (`subschema: false`, deleted) or a whole subschema (read as `true`).
 * Undefined when leaving it out could make the schema allow less, or would take a keyword that
 * holds subschemas.
 */
function placeOf(at: readonly Segment[]): { path: Segment[]; subschema: boolean } | undefined {
  const path: Segment[] = [];
  let position: 'schema' | 'map' | 'list' = 'schema';
  for (const part of at) {
    if (position === 'map' || position === 'list') {
      path.push(position === 'list' ? Number(part) : part);
      position = 'schema';
    } else if (typeof part === 'number' || /^\d+$/.test(part)) {
      path.push(Number(part)); // a list of schemas under a single-schema keyword (`items: [...]`)
    } else {
      path.push(part);
      if (NOT_MONOTONE.has(part)) return undefined;
      if (SCHEMA_MAPS.includes(part)) position = 'map';
      else if (SCHEMA_LISTS.includes(part)) position = 'list';
      else if (!SCHEMA_SINGLES.includes(part)) return LOCAL_KEYWORDS.has(part) || !KNOWN_KEYWORDS.includes(part) ? { path, subschema: false } : undefined;
    }
  }
  return position === 'schema' && path.length > 0 ? { path, subschema: true } : undefined;
}

function valueAtPath(value: unknown, path: readonly Segment[]): unknown {
  let current = value;
  for (const part of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<Segment, unknown>)[part];
  }
  return current;
}

/** Problems an answer lists at most. */
const MAX_ISSUES = 100;

/**
 * Unknown keywords and formats, anywhere in the schema, with a did-you-mean (ajv's strict mode
 * would name only the first); `at` is where the schema is, for the report's third argument.
 */
function checkKeywords(schema: unknown, path: string, report: (path: string, message: string, at: readonly Segment[]) => void, at: readonly Segment[] = []): void {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return;
  for (const [key, value] of Object.entries(schema as Record<string, unknown>)) {
    const where = `${path}.${key}`;
    const inside = [...at, key];
    if (!KNOWN_KEYWORDS.includes(key)) {
      report(where, `unknown JSON Schema keyword "${key}"${didYouMean(key, KNOWN_KEYWORDS)}`, inside);
    } else if (key === 'format' && typeof value === 'string' && !KNOWN_FORMATS.includes(value)) {
      report(where, `unknown format "${value}"${didYouMean(value, KNOWN_FORMATS)}; formats: ${listNames(KNOWN_FORMATS, 40)}`, inside);
    } else if (SCHEMA_MAPS.includes(key) && typeof value === 'object' && value !== null) {
      for (const [name, child] of Object.entries(value as Record<string, unknown>)) checkKeywords(child, `${where}.${name}`, report, [...inside, name]);
    } else if (SCHEMA_LISTS.includes(key) && Array.isArray(value)) {
      value.forEach((child, index) => checkKeywords(child, `${where}[${index}]`, report, [...inside, index]));
    } else if (SCHEMA_SINGLES.includes(key)) {
      if (Array.isArray(value)) value.forEach((child, index) => checkKeywords(child, `${where}[${index}]`, report, [...inside, index]));
      else checkKeywords(value, where, report, inside);
    }
  }
}
