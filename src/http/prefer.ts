/** The parts of the `Prefer` request header (RFC 7240) flowd honours. */
export interface Preferences {
  /** `respond-async`: answer 202 at once and run in the background. */
  respondAsync: boolean;
  /** `wait=N` (seconds): hold the request at most this long, then answer 202. */
  waitSeconds: number | undefined;
  /** `return=minimal`: answer with the output only. */
  minimal: boolean;
}

/** Longest `wait` honoured; longer values are clamped (the request timeout bounds it anyway). */
export const MAX_WAIT_SECONDS = 3600;

export function parsePrefer(header: string | string[] | undefined): Preferences {
  const preferences: Preferences = { respondAsync: false, waitSeconds: undefined, minimal: false };
  if (header === undefined) return preferences;
  for (const value of Array.isArray(header) ? header : [header]) {
    for (const item of value.split(',')) {
      const [token = ''] = item.split(';');
      const [rawName = '', rawValue] = token.split('=');
      const name = rawName.trim().toLowerCase();
      const setting = rawValue === undefined ? undefined : unquote(rawValue.trim());
      if (name === 'respond-async') preferences.respondAsync = true;
      else if (name === 'return' && setting === 'minimal') preferences.minimal = true;
      else if (name === 'wait' && setting !== undefined && /^\d{1,7}$/.test(setting)) {
        preferences.waitSeconds = Math.min(Number(setting), MAX_WAIT_SECONDS);
      }
    }
  }
  return preferences;
}

/** `"x"` → `x`; anything else as is. */
function unquote(text: string): string {
  return text.length >= 2 && text.startsWith('"') && text.endsWith('"') ? text.slice(1, -1) : text;
}

/** The `Preference-Applied` value for what was honoured. */
export function preferenceApplied(applied: { respondAsync?: boolean; waitSeconds?: number | undefined; minimal?: boolean }): string | undefined {
  const parts: string[] = [];
  if (applied.respondAsync === true) parts.push('respond-async');
  if (applied.waitSeconds !== undefined) parts.push(`wait=${applied.waitSeconds}`);
  if (applied.minimal === true) parts.push('return=minimal');
  return parts.length === 0 ? undefined : parts.join(', ');
}
