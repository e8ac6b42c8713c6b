import { Ajv2020 } from 'ajv/dist/2020.js';
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
): ((input: unknown) => readonly InputIssue[] | undefined) | undefined {
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
  return (input) => {
    if (validate(input)) return undefined;
    const errors = validate.errors ?? [];
    if (errors.length <= MAX_ISSUES) return plainJsonSchemaIssues(errors, at.root, input, false);
    // A small body can hold thousands of mistakes: the answer names the first ones and counts the rest.
    const issues = plainJsonSchemaIssues(errors.slice(0, MAX_ISSUES), at.root, input, false);
    return [...issues, { path: at.root, message: `has ${errors.length - MAX_ISSUES} more problems, not listed (the first ${MAX_ISSUES} are)` }];
  };
}

/** Problems an answer lists at most. */
const MAX_ISSUES = 100;

/** Unknown keywords and formats, anywhere in the schema, with a did-you-mean (ajv's strict mode would name only the first). */
function checkKeywords(schema: unknown, path: string, report: Report): void {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return;
  for (const [key, value] of Object.entries(schema as Record<string, unknown>)) {
    const where = `${path}.${key}`;
    if (!KNOWN_KEYWORDS.includes(key)) {
      report(where, `unknown JSON Schema keyword "${key}"${didYouMean(key, KNOWN_KEYWORDS)}`);
    } else if (key === 'format' && typeof value === 'string' && !KNOWN_FORMATS.includes(value)) {
      report(where, `unknown format "${value}"${didYouMean(value, KNOWN_FORMATS)}; formats: ${listNames(KNOWN_FORMATS, 40)}`);
    } else if (SCHEMA_MAPS.includes(key) && typeof value === 'object' && value !== null) {
      for (const [name, child] of Object.entries(value as Record<string, unknown>)) checkKeywords(child, `${where}.${name}`, report);
    } else if (SCHEMA_LISTS.includes(key) && Array.isArray(value)) {
      value.forEach((child, index) => checkKeywords(child, `${where}[${index}]`, report));
    } else if (SCHEMA_SINGLES.includes(key)) {
      if (Array.isArray(value)) value.forEach((child, index) => checkKeywords(child, `${where}[${index}]`, report));
      else checkKeywords(value, where, report);
    }
  }
}
