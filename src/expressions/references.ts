/**
 * Finds what an expression reads from its scope, from the parsed AST:
 *   - rootRefs: top-level names read from the scope (`input`, `phases`, `item`, …); `$` is added
 *     when the expression reads the whole scope (`$`, `$$`, `*`, `**` at the top level);
 *   - phaseRefs: ids X read as `phases.X` (also `$.phases.X`, `$$.phases.X`).
 * The flow compiler uses phaseRefs to reject references to phases that cannot have run yet.
 *
 * A name is top-level only where the context is the scope itself: the first step of a path at
 * the top, in operands, function arguments and lambda bodies (JSONata evaluates a lambda body
 * with the context it was defined in). Later path steps, predicates, sort terms, grouping and
 * transform updates run against other values, so names there are not scope reads. A dynamic
 * access such as `$lookup(phases, $x)` shows up as `phases` in rootRefs with no phase id.
 *
 * Some built-ins read the context when an argument is left out (`$keys()` is `$keys($)`, and at
 * the top the context is the whole scope), and `$eval` evaluates against it: such a call at the
 * top — or any use of these functions as a value, which could be called that way later — adds `$`.
 */

type Node = Readonly<Record<string, unknown>>;

export interface References {
  readonly phaseRefs: ReadonlySet<string>;
  readonly rootRefs: ReadonlySet<string>;
}

const WHOLE_SCOPE = '$';

/**
 * Built-ins whose context parameter (`-` in their JSONata signature) accepts an object, with the
 * number of arguments below which the context fills in: called at the top with fewer, they read
 * the whole scope. (Those whose context must be a string or number fail on the scope instead.)
 */
const CONTEXT_READERS: ReadonlyMap<string, number> = new Map([
  ['string', 1],
  ['boolean', 1],
  ['not', 1],
  ['keys', 1],
  ['spread', 1],
  ['clone', 1],
  ['lookup', 2],
  ['sift', 2],
  ['each', 2],
  // $eval's second argument defaults to the context: always counted.
  ['eval', Number.POSITIVE_INFINITY],
]);
const DECORATIONS = ['predicate', 'stages', 'group', 'terms'] as const;

function isNode(value: unknown): value is Node {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && typeof (value as Node)['type'] === 'string';
}

export function collectReferences(ast: unknown): References {
  const phaseRefs = new Set<string>();
  const rootRefs = new Set<string>();

  const children = (value: unknown, atRoot: boolean): void => {
    if (Array.isArray(value)) for (const item of value) children(item, atRoot);
    else if (isNode(value)) visit(value, atRoot);
  };

  /** Predicates, stages, grouping and sort terms evaluate against items, never the scope. */
  const decorations = (node: Node): void => {
    for (const key of DECORATIONS) {
      const value = node[key];
      if (Array.isArray(value)) {
        // predicate/stages: [{ type: 'filter', expr }]; sort terms: [{ descending, expression }]
        for (const entry of value) {
          if (entry !== null && typeof entry === 'object') {
            const record = entry as Node;
            children(record['expr'] ?? record['expression'], false);
          }
        }
      } else if (value !== null && typeof value === 'object') {
        children((value as Node)['lhs'], false); // group: { lhs: [[key, value], …] }
      }
    }
  };

  const pathFromScope = (steps: readonly unknown[], first: number): void => {
    const name = steps[first];
    if (!isNode(name) || name['type'] !== 'name' || typeof name['value'] !== 'string') return;
    rootRefs.add(name['value']);
    const id = steps[first + 1];
    if (name['value'] === 'phases' && isNode(id) && id['type'] === 'name' && typeof id['value'] === 'string') {
      phaseRefs.add(id['value']);
    }
  };

  const visit = (node: Node, atRoot: boolean): void => {
    decorations(node);
    switch (node['type']) {
      case 'path': {
        const steps = Array.isArray(node['steps']) ? (node['steps'] as unknown[]) : [];
        const first = steps[0];
        if (isNode(first)) {
          const isScopeVariable = first['type'] === 'variable' && (first['value'] === '$' || (first['value'] === '' && atRoot));
          if (isScopeVariable) pathFromScope(steps, 1);
          else if (atRoot) pathFromScope(steps, 0);
          if (first['type'] !== 'name' && first['type'] !== 'variable') visit(first, atRoot);
          else decorations(first);
        }
        for (let i = 1; i < steps.length; i++) children(steps[i], false);
        return;
      }
      case 'variable':
        if (node['value'] === '$' || (node['value'] === '' && atRoot)) rootRefs.add(WHOLE_SCOPE);
        // A context reader used as a value (`$f := $keys`, `$map(x, $keys)`, `~> $keys`) may be called without its argument.
        if (atRoot && typeof node['value'] === 'string' && CONTEXT_READERS.has(node['value'])) rootRefs.add(WHOLE_SCOPE);
        return;
      case 'function': {
        const procedure = node['procedure'];
        const args = Array.isArray(node['arguments']) ? (node['arguments'] as unknown[]) : [];
        const name = isNode(procedure) && procedure['type'] === 'variable' ? procedure['value'] : undefined;
        const fillsIn = typeof name === 'string' ? CONTEXT_READERS.get(name) : undefined;
        if (fillsIn === undefined) {
          children(procedure, atRoot);
        } else if (atRoot && args.length < fillsIn) {
          rootRefs.add(WHOLE_SCOPE);
        }
        children(args, atRoot);
        return;
      }
      case 'wildcard':
      case 'descendant':
        if (atRoot) rootRefs.add(WHOLE_SCOPE);
        return;
      case 'name':
        if (atRoot && typeof node['value'] === 'string') rootRefs.add(node['value']);
        return;
      case 'transform':
        children(node['pattern'], atRoot);
        children(node['update'], false);
        children(node['delete'], false);
        return;
      default:
        for (const [key, value] of Object.entries(node)) {
          if (!(DECORATIONS as readonly string[]).includes(key)) children(value, atRoot);
        }
    }
  };

  children(ast, true);
  return { phaseRefs, rootRefs };
}
