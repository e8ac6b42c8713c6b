import { isPlainObject, mustBe, parseFields, type Reporter } from './parse-fields.js';
import {
  MAX_PARALLEL_BRANCHES,
  OtherwiseBranchSchema,
  PHASE_ID_PATTERN,
  PHASE_KIND_KEYS,
  PHASE_SCHEMAS,
  WhenBranchSchema,
  type DecisionBranchDefinition,
  type PhaseDefinition,
} from './schema.js';
import { didYouMean } from './suggest.js';
import { WaitSchema } from './wait-schema.js';

const BROKEN = Symbol('broken phase');

/**
 * A phase too broken to compile (no kind, an invalid id…). It keeps its place in its list, and
 * its id when that is valid, so the checks that follow (references, goto targets, duplicates)
 * neither miss it nor report it again.
 */
interface BrokenPhase {
  readonly id: string | undefined;
  readonly [BROKEN]: true;
}

export function isBrokenPhase(definition: PhaseDefinition): definition is PhaseDefinition & BrokenPhase {
  return BROKEN in definition;
}

const INVALID_CALLBACK = Symbol('invalid callback');

const INVALID_ID = Symbol('invalid id');

/**
 * A phase whose `id` is invalid or missing (reported): it is compiled under a stand-in id so the
 * problems inside it are reported in the same pass, but it is never referenced, counted as a
 * duplicate or returned (a flow with a reported problem does not load).
 */
export function hasInvalidId(definition: PhaseDefinition): boolean {
  return INVALID_ID in definition;
}

/** A call phase whose `callback` is invalid (reported, left out): its request may still use `callback`. */
export function hasInvalidCallback(definition: PhaseDefinition): boolean {
  return INVALID_CALLBACK in definition;
}

function brokenPhase(value: unknown): PhaseDefinition {
  const id = isPlainObject(value) && typeof value['id'] === 'string' && PHASE_ID_PATTERN.test(value['id']) ? value['id'] : undefined;
  // Never leaves the compiler: a flow with a broken phase has issues and is not returned.
  return { id, [BROKEN]: true } as unknown as PhaseDefinition;
}

/**
 * Reads a list of phases, reporting every problem of every phase (nested ones included) in one
 * pass. Returns the list with each phase parsed as far as it is valid; phases that cannot be
 * compiled at all are broken placeholders (see isBrokenPhase).
 */
export function parsePhaseList(value: unknown, path: readonly PropertyKey[], report: Reporter, options: { allowEmpty?: boolean } = {}): PhaseDefinition[] {
  if (value === undefined) {
    report(path, 'is required: a list of phases');
    return [];
  }
  if (!Array.isArray(value)) {
    report(path, mustBe('a list of phases', value));
    return [];
  }
  if (value.length === 0 && options.allowEmpty !== true) report(path, 'needs at least one phase');
  return value.map((phase, index) => parsePhase(phase, [...path, index], report));
}

function parsePhase(value: unknown, path: readonly PropertyKey[], report: Reporter): PhaseDefinition {
  if (!isPlainObject(value)) {
    report(path, mustBe('a phase (a mapping with an id and one of: component, decision, parallel, map, flow, wait)', value));
    return brokenPhase(value);
  }
  const kinds = PHASE_KIND_KEYS.filter((key) => Object.hasOwn(value, key));
  if (kinds.length === 0) {
    const near = Object.keys(value).map((key) => didYouMean(key, PHASE_KIND_KEYS)).find((hint) => hint !== '') ?? '';
    report(path, `a phase needs exactly one of: ${PHASE_KIND_KEYS.join(', ')} (found keys: ${Object.keys(value).join(', ') || 'none'})${near}`);
    return brokenPhase(value);
  }
  if (kinds.length > 1) {
    report(path, `a phase can only be one kind, found: ${kinds.join(', ')} (keep one; put the others in phases of their own)`);
  }
  const kind = kinds[0]!;
  // Other kinds' keys were reported above; the phase is checked as the first kind found.
  const own = Object.fromEntries(Object.entries(value).filter(([key]) => key === kind || !(PHASE_KIND_KEYS as readonly string[]).includes(key)));
  const nested = kind === 'decision' || kind === 'parallel' || kind === 'map' || (kind === 'wait' && isPlainObject(own['wait'])) ? [kind] : [];
  const { data, failed } = parseFields(own, PHASE_SCHEMAS[kind], path, report, nested);
  // Nested phases are read (and their problems reported) even when this phase is itself broken.
  if (kind === 'decision') data['decision'] = parseDecision(own['decision'], [...path, 'decision'], report);
  else if (kind === 'parallel') data['parallel'] = parseParallel(own['parallel'], [...path, 'parallel'], report);
  else if (kind === 'map') data['map'] = parseMap(own['map'], [...path, 'map'], report);
  else if (nested.length > 0) data['wait'] = parseWait(own['wait'] as Record<string, unknown>, [...path, 'wait'], report);
  if (failed.has(kind) || (kind === 'map' && data['map'] === undefined)) return brokenPhase(value);
  if (failed.has('id')) {
    // Compiled under a stand-in so what is inside it is checked too (see hasInvalidId).
    const raw = own['id'];
    Object.assign(data, { id: typeof raw === 'string' ? raw : `(phase at ${path.join('.')})`, [INVALID_ID]: true });
  }
  if (failed.has('callback')) Object.assign(data, { [INVALID_CALLBACK]: true });
  return data as unknown as PhaseDefinition;
}

/**
 * A wait's fields one by one: an invalid one (reported) is replaced by a stand-in of the same
 * kind, or left out when it is optional and nothing depends on it, so the rest of the wait (its
 * `until` expression, payload schema, `on_timeout` output) is still checked in the same pass.
 */
function parseWait(value: Record<string, unknown>, path: readonly PropertyKey[], report: Reporter): Record<string, unknown> {
  const { data, failed } = parseFields(value, WaitSchema, path, report);
  for (const key of failed) {
    const raw = value[key];
    if (key === 'signal') data['signal'] = typeof raw === 'string' ? raw : String(raw);
    else if (key === 'for' || key === 'timeout') data[key] = 1;
    else if (key === 'until') data['until'] = '0';
  }
  return data;
}

function parseDecision(value: unknown, path: readonly PropertyKey[], report: Reporter): DecisionBranchDefinition[] {
  if (!Array.isArray(value)) {
    report(path, mustBe('a list of branches ({when, phases} … and a last {otherwise})', value));
    return [];
  }
  if (value.length === 0) report(path, 'needs at least one branch');
  // Every branch keeps its place (paths and goto checks count on it) and its phases are read,
  // even when the branch itself is invalid: an invalid `when` is left out, reported here.
  return value.map((branch, index) => {
    const where = [...path, index];
    if (!isPlainObject(branch)) {
      report(where, mustBe('a branch: {when, phases} or {otherwise}', branch));
      return {};
    }
    const list = Object.hasOwn(branch, 'otherwise') ? 'otherwise' : 'phases';
    const schema = list === 'otherwise' ? OtherwiseBranchSchema : WhenBranchSchema;
    const { data } = parseFields(branch, schema, where, report, [list]);
    if (branch[list] !== undefined) data[list] = parsePhaseList(branch[list], [...where, list], report, { allowEmpty: true });
    return data;
  });
}

function parseParallel(value: unknown, path: readonly PropertyKey[], report: Reporter): Record<string, PhaseDefinition[]> {
  if (!isPlainObject(value)) {
    report(path, mustBe('a mapping of branch name → list of phases', value));
    return {};
  }
  const names = Object.keys(value);
  if (names.length === 0) report(path, 'a parallel block needs at least one branch');
  if (names.length > MAX_PARALLEL_BRANCHES) report(path, `a parallel phase has at most ${MAX_PARALLEL_BRANCHES} branches (found ${names.length})`);
  const branches: Record<string, PhaseDefinition[]> = {};
  for (const name of names) {
    if (!PHASE_ID_PATTERN.test(name)) report([...path, name], `"${name}" is not a valid branch name: must match ^[A-Za-z_][A-Za-z0-9_]{0,63}$`);
    branches[name] = parsePhaseList(value[name], [...path, name], report);
  }
  return branches;
}

function parseMap(value: unknown, path: readonly PropertyKey[], report: Reporter): Record<string, unknown> | undefined {
  if (!isPlainObject(value)) {
    report(path, mustBe('a mapping with items and phases', value));
    return undefined;
  }
  const schema = PHASE_SCHEMAS.map.shape.map;
  // Without valid `items` (reported here) the map's phases are still compiled and checked.
  const { data } = parseFields(value, schema, path, report, ['phases']);
  data['phases'] = parsePhaseList(value['phases'], [...path, 'phases'], report);
  return data;
}
