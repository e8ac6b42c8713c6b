/**
 * Approximate UTF-8 size of a value serialised as JSON, walked without serialising, stopping as
 * soon as it passes `limit` (so a huge or cyclic value costs at most `limit` worth of walking).
 * Returns the size, or a number greater than `limit` when it is over.
 */
export function jsonSizeUpTo(value: unknown, limit: number): number {
  let size = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    switch (typeof item) {
      case 'string':
        size += Buffer.byteLength(item, 'utf8') + 2;
        break;
      case 'number':
      case 'bigint':
        size += 8;
        break;
      case 'boolean':
        size += 5;
        break;
      case 'object':
        if (item === null) {
          size += 4;
        } else if (Array.isArray(item)) {
          size += 2 + item.length;
          for (let i = item.length - 1; i >= 0; i--) stack.push(item[i]);
        } else if (ArrayBuffer.isView(item)) {
          size += item.byteLength * 2;
        } else {
          size += 2;
          for (const key of Object.keys(item)) {
            size += Buffer.byteLength(key, 'utf8') + 4;
            stack.push((item as Record<string, unknown>)[key]);
          }
        }
        break;
      default:
        break;
    }
    if (size > limit) return size;
  }
  return size;
}
