let lastMs = Number.NaN;
let lastIso = '';
let secondMs = Number.NaN;
/** `YYYY-MM-DDTHH:MM:SS.` of the second starting at secondMs. */
let secondPrefix = '';

/**
 * `new Date(ms).toISOString()` for the journal's times. Under load many records and log lines share
 * a millisecond, and most share a second: the last answer is remembered, and within the same second
 * only the milliseconds are written, without a Date and its formatting.
 */
export function isoTime(ms: number): string {
  if (ms === lastMs) return lastIso;
  const fraction = ms % 1000;
  if (!Number.isInteger(ms) || ms < 0 || ms > 253_402_300_799_999) {
    lastIso = new Date(ms).toISOString();
  } else {
    const second = ms - fraction;
    if (second !== secondMs) {
      secondPrefix = new Date(second).toISOString().slice(0, 20);
      secondMs = second;
    }
    lastIso = `${secondPrefix}${fraction < 10 ? '00' : fraction < 100 ? '0' : ''}${fraction}Z`;
  }
  lastMs = ms;
  return lastIso;
}
