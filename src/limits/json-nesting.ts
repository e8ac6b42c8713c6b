/**
 * Nesting depth of the values flowd parses from outside or writes out (SECURITY rule 8).
 *
 * JSON.parse builds any depth without trouble, but every recursive walk after it does not:
 * JSON.stringify (responses, stores, logs) throws "Maximum call stack size exceeded" at a few
 * thousand levels, which 10 KB of `[[[…]]]` reaches. So a value is checked once where it enters
 * (upstream JSON, phase outputs) and before it is written (store records), iteratively, and refused
 * with a coded error instead of a 500.
 */
import { LimitExceededError } from '../errors.js';

/**
 * Deepest nesting of objects and arrays accepted (the outermost container is level 1). Real
 * documents stay far below (GeoJSON needs 4, the deepest API payloads a few dozen); recursive
 * walkers in flowd (secret masking, redaction, size estimates) handle it with room to spare.
 */
export const MAX_VALUE_NESTING = 128;

interface Frame {
  readonly value: object;
  readonly depth: number;
  readonly parent: Frame | undefined;
  readonly key: string | number | undefined;
}

/**
 * The path (`$.a[0].b`) of the first object or array nested deeper than `maxDepth`, or undefined
 * when none is. Iterative: a deep value cannot overflow the stack while being checked; a cyclic
 * one is reported as too deep instead of looping.
 */
export function findTooDeeplyNested(value: unknown, maxDepth: number = MAX_VALUE_NESTING): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const stack: Frame[] = [{ value, depth: 1, parent: undefined, key: undefined }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    if (frame.depth > maxDepth) return pathOf(frame);
    if (Array.isArray(frame.value)) {
      for (let i = 0; i < frame.value.length; i++) {
        const child: unknown = frame.value[i];
        if (typeof child === 'object' && child !== null) stack.push({ value: child, depth: frame.depth + 1, parent: frame, key: i });
      }
    } else if (!ArrayBuffer.isView(frame.value)) {
      for (const [key, child] of Object.entries(frame.value as Record<string, unknown>)) {
        if (typeof child === 'object' && child !== null) stack.push({ value: child, depth: frame.depth + 1, parent: frame, key });
      }
    }
  }
  return undefined;
}

/**
 * Throws LimitExceededError (FLOWD_ERR_LIMIT_EXCEEDED) naming `what` and the path when `value`
 * nests deeper than `maxDepth`. For the store: call it on a record before serialising it.
 */
export function assertNestingWithin(value: unknown, what: string, maxDepth: number = MAX_VALUE_NESTING): void {
  const path = findTooDeeplyNested(value, maxDepth);
  if (path !== undefined) {
    throw new LimitExceededError(`${what} is nested deeper than ${maxDepth} levels (at ${path})`, {
      details: { limit: 'nesting', value: maxDepth },
    });
  }
}

function pathOf(frame: Frame): string {
  const keys: (string | number)[] = [];
  for (let f: Frame | undefined = frame; f?.key !== undefined; f = f.parent) keys.push(f.key);
  // A path that is itself thousands of levels long is no help to anyone: its first steps say where.
  const shown = keys.reverse().slice(0, 8);
  const path = shown.map((key) => (typeof key === 'number' ? `[${key}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`)).join('');
  return `$${path}${keys.length > shown.length ? '…' : ''}`;
}
