/** Shape limits on parsed JSON request bodies: nesting depth and width (members per object, items per array). */
export interface JsonShapeLimits {
  /** MAX_JSON_DEPTH: nesting levels of objects and arrays. */
  readonly maxDepth: number;
  /** MAX_JSON_WIDTH: members of one object, items of one array. */
  readonly maxWidth: number;
}

/**
 * The first limit `value` breaks, as a message for the caller, or undefined. Iterative, so a
 * deep body cannot overflow the stack while being checked; every container is visited once.
 */
export function jsonShapeViolation(value: unknown, limits: JsonShapeLimits): string | undefined {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (typeof item !== 'object' || item === null) continue;
    if (depth > limits.maxDepth) return `the JSON body is nested deeper than ${limits.maxDepth} levels (MAX_JSON_DEPTH)`;
    const children = Array.isArray(item) ? item : Object.values(item);
    if (children.length > limits.maxWidth) {
      return `the JSON body has an ${Array.isArray(item) ? 'array with more than' : 'object with more than'} ${limits.maxWidth} ${Array.isArray(item) ? 'items' : 'members'} (MAX_JSON_WIDTH)`;
    }
    for (const child of children) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return undefined;
}
