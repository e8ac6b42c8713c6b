import { isPlainObject, mustBe, parseFields, type Reporter } from './parse-fields.js';
import { parsePhaseList } from './parse-phases.js';
import {
  COMPONENT_NAME_PATTERN,
  ComponentSchema,
  DependencySchema,
  EXAMPLE_NAME_PATTERN,
  FlowDefinitionSchema,
  RecoveryObjectSchema,
  TriggerSchema,
  type ComponentDefinition,
  type FlowDefinition,
} from './schema.js';
import { ScheduleSchema } from './schedule-schema.js';
import { plainZodIssues } from './zod-words.js';

export interface ParsedFlow {
  /**
   * The flow as far as it is valid: invalid optional fields left out, invalid components left
   * out, phases that cannot compile as broken placeholders. Exactly FlowDefinitionSchema's output
   * when nothing was reported.
   */
  readonly definition: FlowDefinition;
  /**
   * Top-level fields present but invalid (their checks are skipped: no follow-up noise), except
   * that the entries of `depends_on`, `triggers`, `schedules`, `examples` and a `recovery_flow`
   * mapping stand alone: such a field keeps its entries, each with its valid keys only (a required
   * one may be missing), so one bad entry or key does not hide the checks of the rest.
   */
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
  for (const field of failed) {
    const entries = salvageEntries(field, value[field]);
    if (entries !== undefined) data[field] = entries;
  }
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
      // Only a policy key is invalid: the adapter and its configuration are still checked (phases naming it are not reported).
      const salvaged = isPlainObject(definition) ? ComponentSchema.safeParse(withoutInvalidPolicyKeys(definition)) : undefined;
      if (salvaged?.success === true) components[name] = salvaged.data;
    }
  }
  return components;
}

const NO_REPORT: Reporter = () => undefined;
const LIST_ENTRIES = { depends_on: DependencySchema, triggers: TriggerSchema, schedules: ScheduleSchema } as const;

/**
 * What the later checks (flow references, expressions, schedule and example inputs) can still use
 * of a field that failed, its problems already reported: every entry in its place, with its valid
 * keys (an entry that is not a mapping is empty); examples with a valid name. Undefined when
 * nothing stands alone (the field is not a list or a mapping).
 */
function salvageEntries(field: string, value: unknown): unknown {
  if (Object.hasOwn(LIST_ENTRIES, field) && Array.isArray(value)) {
    const schema = LIST_ENTRIES[field as keyof typeof LIST_ENTRIES];
    return value.map((entry) => (isPlainObject(entry) ? parseFields(entry, schema, [], NO_REPORT).data : {}));
  }
  if (field === 'recovery_flow' && isPlainObject(value)) return parseFields(value, RecoveryObjectSchema, [], NO_REPORT).data;
  if (field === 'examples' && isPlainObject(value)) return Object.fromEntries(Object.entries(value).filter(([name]) => EXAMPLE_NAME_PATTERN.test(name)));
  return undefined;
}

/** A component's definition without its invalid policy keys (`timeout_ms: "1s"`); the adapter's own keys stay. */
function withoutInvalidPolicyKeys(definition: Record<string, unknown>): Record<string, unknown> {
  const shape = ComponentSchema.shape as Record<string, { safeParse: (value: unknown) => { success: boolean } }>;
  return Object.fromEntries(Object.entries(definition).filter(([key, value]) => key === 'adapter' || !Object.hasOwn(shape, key) || shape[key]!.safeParse(value).success));
}
