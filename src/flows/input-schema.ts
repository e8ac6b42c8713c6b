import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { InputIssue } from '../errors.js';

// ajv-formats is CommonJS; its default export arrives wrapped under ESM interop.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => Ajv2020;

/** One validator factory for every flow: compiled once per flow at load, reused by every request. */
const ajv = new Ajv2020({
  allErrors: true,
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
});
addFormats(ajv);

/** Compiles a flow's input JSON Schema; reports an invalid schema and returns undefined. */
export function compileInputSchema(
  schema: Record<string, unknown>,
  report: (path: string, message: string) => void,
): ((input: unknown) => readonly InputIssue[] | undefined) | undefined {
  let validate;
  try {
    validate = ajv.compile(schema);
  } catch (error) {
    report('input', `invalid JSON Schema: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
  return (input) => (validate(input) ? undefined : (validate.errors ?? []).map(toIssue));
}

function toIssue(error: ErrorObject): InputIssue {
  const segments = error.instancePath
    .split('/')
    .slice(1)
    .map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'));
  let path = 'input';
  for (const segment of segments) path += /^\d+$/.test(segment) ? `[${segment}]` : `.${segment}`;
  if (error.keyword === 'required') path += `.${String(error.params['missingProperty'])}`;
  if (error.keyword === 'additionalProperties') path += `.${String(error.params['additionalProperty'])}`;
  const message = error.keyword === 'required' ? 'is required' : error.keyword === 'additionalProperties' ? 'is not allowed' : (error.message ?? 'is invalid');
  return { path, message };
}
