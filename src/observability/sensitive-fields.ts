/**
 * Redaction of values by the *name* of their field (password, token, card number…), for
 * execution inputs as stored and served, and for log lines. Configured secrets are masked by
 * value elsewhere (SecretStore); this catches what callers send that was never configured.
 */

export const REDACTED = '[REDACTED]';

/** A normalised field name (lower case, without `-`, `_`, `.`, spaces) containing one of these is sensitive. */
const SENSITIVE_PARTS = [
  'password',
  'passwd',
  'passphrase',
  'secret',
  'token',
  'authorization',
  'apikey',
  'accesskey',
  'privatekey',
  'credential',
  'cookie',
  'sessionid',
  'cardnumber',
  'creditcard',
  'ccnumber',
  'cardno',
  'cvv',
  'cvc',
  'securitycode',
  'ssn',
  'socialsecurity',
  'iban',
] as const;

/** Short names that are sensitive only as the whole name (`pin`, but not `shipping`). */
const SENSITIVE_NAMES = ['pwd', 'pin', 'pan', 'otp', 'auth', 'cc'] as const;

export type SensitiveFieldMatcher = (field: string) => boolean;

function normalise(field: string): string {
  return field.toLowerCase().replace(/[-_.\s]/g, '');
}

/** The built-in names plus `extra` (REDACT_FIELDS: comma-separated, matched like the built-in parts). */
export function createSensitiveFieldMatcher(extra: readonly string[] = []): SensitiveFieldMatcher {
  const parts = [...SENSITIVE_PARTS, ...extra.map(normalise).filter((part) => part !== '')];
  const names = new Set<string>(SENSITIVE_NAMES);
  const known = new Map<string, boolean>();
  return (field) => {
    const cached = known.get(field);
    if (cached !== undefined) return cached;
    const name = normalise(field);
    const sensitive = names.has(name) || parts.some((part) => name.includes(part));
    if (known.size < 10_000) known.set(field, sensitive);
    return sensitive;
  };
}

export const isSensitiveField: SensitiveFieldMatcher = createSensitiveFieldMatcher();

/** REDACT_FIELDS → list. */
export function parseRedactFields(text: string): string[] {
  return text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

/**
 * `value` with the value of every sensitive field (whatever its type) replaced by `[REDACTED]`.
 * Values nested deeper than 64 levels are replaced too: nothing unchecked gets through. Strings
 * that embed JSON (an error message built with `$string(…)` of upstream data) get their sensitive
 * members redacted as well. Copy-on-write: only the objects on the path to a redacted value are
 * copied, so clean data (nearly every record and log line) costs a walk and no allocation.
 * Treat the result as immutable: it may share structure with `value`.
 */
export function redactSensitive<T>(value: T, isSensitive: SensitiveFieldMatcher = isSensitiveField): T {
  return redactDeep(value, isSensitive, 0) as T;
}

function redactDeep(value: unknown, isSensitive: SensitiveFieldMatcher, depth: number): unknown {
  if (typeof value === 'string') return value.includes('":') || value.includes('=') ? redactSensitiveJsonText(value, isSensitive) : value;
  if (typeof value !== 'object' || value === null) return value;
  if (depth > 64) return REDACTED;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const redacted = redactDeep(item, isSensitive, depth + 1);
      if (redacted !== item) (copy ??= value.slice())[i] = redacted;
    }
    return copy ?? value;
  }
  // Clean objects (nearly all) are walked with one key array and no other allocation; the first
  // change copies the object, with the fields before it, and the walk goes on in the copy.
  const source = value as Record<string, unknown>;
  const keys = Object.keys(source);
  let out: Record<string, unknown> | undefined;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const item = source[key];
    const redacted = isSensitive(key) ? REDACTED : redactDeep(item, isSensitive, depth + 1);
    if (out === undefined) {
      if (redacted === item) continue;
      out = {};
      for (let j = 0; j < i; j++) defineField(out, keys[j]!, source[keys[j]!]);
    }
    defineField(out, key, redacted);
  }
  return out ?? value;
}

/** defineProperty: a `__proto__` field stays a plain field, never a prototype. */
function defineField(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A JSON member `"name": scalar`; string values may contain escapes. */
const JSON_MEMBER = /"((?:[^"\\\n]|\\.){1,256})"(\s*:\s*)("(?:[^"\\\n]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/g;

/**
 * Redacts scalar values of sensitive fields inside a line of JSON (a pino log line), at any depth
 * — pino's own `redact` paths are fixed-depth. Objects under a sensitive name keep their shape;
 * their own sensitive members are redacted.
 */
export function redactSensitiveJsonText(text: string, isSensitive: SensitiveFieldMatcher = isSensitiveField): string {
  const members = text.replace(JSON_MEMBER, (member: string, name: string, colon: string) =>
    isSensitive(name) ? `"${name}"${colon}"${REDACTED}"` : member,
  );
  // Credentials sent in a query string (`?api_key=…`, `&access_token=…`) would be logged with the request URL.
  return members.includes('=') ? members.replace(QUERY_PARAMETER, (parameter: string, lead: string, name: string) =>
    isSensitive(decodeName(name)) ? `${lead}${name}=${REDACTED}` : parameter,
  ) : members;
}

/**
 * Redacts a whole pino line. Sensitive members of the line itself are found by the regular
 * expression; when the line carries JSON *inside a string* (escaped, `\"password\":…`), it is
 * parsed and redacted value by value instead (rare, so the common line costs one regex pass).
 */
export function redactSensitiveLogLine(line: string, isSensitive: SensitiveFieldMatcher = isSensitiveField): string {
  if (line.includes('\\":')) {
    try {
      const trailing = line.endsWith('\n') ? '\n' : '';
      return JSON.stringify(redactSensitive(JSON.parse(line) as unknown, isSensitive)) + trailing;
    } catch {
      // not a JSON line (pretty output): fall through to the text pass
    }
  }
  return redactSensitiveJsonText(line, isSensitive);
}

/** `?name=value` / `&name=value` inside a URL (stops at `&`, `#`, quotes, spaces). */
const QUERY_PARAMETER = /([?&;])([^=&#"\s]{1,128})=([^&#"\s]*)/g;

function decodeName(name: string): string {
  try {
    return decodeURIComponent(name.replaceAll('+', ' '));
  } catch {
    return name;
  }
}

/** Whether `value` holds a redacted field (a stored input that can no longer be replayed as sent). */
export function hasRedactedFields(value: unknown, depth = 0): boolean {
  if (value === REDACTED) return true;
  if (typeof value !== 'object' || value === null || depth > 64) return false;
  return (Array.isArray(value) ? value : Object.values(value)).some((item) => hasRedactedFields(item, depth + 1));
}
