/** Location strings name where a value sits in a flow file: `phases[2].request.body.sku`, `output.items[0]`. */

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

export function childLocation(where: string, key: string | number): string {
  if (typeof key === 'number') return `${where}[${key}]`;
  const member = IDENTIFIER.test(key) ? key : JSON.stringify(key);
  if (where === '') return IDENTIFIER.test(key) ? key : `[${member}]`;
  return IDENTIFIER.test(key) ? `${where}.${member}` : `${where}[${member}]`;
}
