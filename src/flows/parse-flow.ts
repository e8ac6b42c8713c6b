import { isPlainObject, mustBe, parseFields, type Reporter } from './parse-fields.js';
import { parsePhaseList } from './parse-phases.js';
import { COMPONENT_NAME_PATTERN, ComponentSchema, FlowDefinitionSchema, type ComponentDefinition, type FlowDefinition } from './schema.js';
import { plainZodIssues } from './zod-words.js';

export interface ParsedFlow {
  /**
   * The flow as far as it is valid: invalid optional fields left out, invalid components left
   * out, phases that cannot compile as broken placeholders. Exactly FlowDefinitionSchema's output
   * when nothing was reported.
   */
  readonly definition: FlowDefinition;
  /** Top-level fields present but invalid (their checks are skipped: no follow-up noise). */
  readonly failedFields: ReadonlySet<string>;
  /** Components present but invalid: phases naming them are not reported again. */
  readonly brokenComponents: ReadonlySet<string>;
  /** Whether anything was reported. */
  readonly valid: boolean;
}

/**
 * Reads one flow definition and reports every problem in it in one pass, in plain words, with
 * did-you-means for near names. Returns what is usable so the compiler can check the rest
 * (references, expressions, adapters) in the same pass; undefined when the value is not a
 * mapping at all.
 */
export function parseFlowDefinition(value: unknown, report: Reporter): ParsedFlow | undefined {
  let reported = 0;
  const counted: Reporter = (path, message) => {
    reported += 1;
    report(path, message);
  };
  if (!isPlainObject(value)) {
    counted([], mustBe('a mapping with at least name and phases', value));
    return undefined;
  }
  const { data, failed } = parseFields(value, FlowDefinitionSchema, [], counted, ['phases', 'components']);
  const brokenComponents = new Set<string>();
  if (value['components'] !== undefined) {
    data['components'] = parseComponents(value['components'], counted, brokenComponents);
  }
  data['phases'] = parsePhaseList(value['phases'], ['phases'], counted);
  if (reported === 0) {
    // The strict schema has the last word: the definition is exactly what it accepts.
    const strict = FlowDefinitionSchema.safeParse(value);
    if (strict.success) return { definition: strict.data, failedFields: failed, brokenComponents, valid: true };
    for (const issue of plainZodIssues(strict.error.issues, value, FlowDefinitionSchema)) counted(issue.path, issue.message);
  }
  return { definition: data as FlowDefinition, failedFields: failed, brokenComponents, valid: false };
}

function parseComponents(value: unknown, report: Reporter, broken: Set<string>): Record<string, ComponentDefinition> {
  if (!isPlainObject(value)) {
    report(['components'], mustBe('a mapping of component name → {adapter, …}', value));
    return {};
  }
  const components: Record<string, ComponentDefinition> = {};
  for (const [name, definition] of Object.entries(value)) {
    const path = ['components', name];
    if (!COMPONENT_NAME_PATTERN.test(name)) {
      report(path, `"${name}" is not a valid component name: must match ^[A-Za-z_][A-Za-z0-9_-]{0,63}$`);
      broken.add(name);
      continue;
    }
    const parsed = ComponentSchema.safeParse(definition);
    if (parsed.success) {
      components[name] = parsed.data;
    } else {
      broken.add(name);
      for (const issue of plainZodIssues(parsed.error.issues, definition, ComponentSchema)) report([...path, ...issue.path], issue.message);
    }
  }
  return components;
}
