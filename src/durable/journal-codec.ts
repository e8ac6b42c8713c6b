import type { JournalEntry } from '../engine/journal/entries.js';
import { MAX_VALUE_NESTING, findTooDeeplyNested } from '../limits/json-nesting.js';
import type { Cleaner } from '../observability/cleaner.js';
import type { JournalRow } from '../store/execution-store.js';

/**
 * Journal entries as store rows. `data` is the entry as shown (every value cleaned: secrets
 * masked, sensitive fields redacted); `state` keeps, separately, the raw values a resumed or
 * retried run needs (the input, phase outputs, compensable requests, the final output) — only
 * those the cleaning changed: every value is stored once. Clearing `state` (an ended execution
 * nothing can resume or retry from) leaves a complete, safe journal.
 */
const STATE_FIELDS: Readonly<Partial<Record<JournalEntry['type'], readonly string[]>>> = {
  execution_started: ['input'],
  phase_ended: ['output', 'compensable'],
  execution_finished: ['output'],
  wait_started: ['callOutput'],
  signal_received: ['payload'],
};

export function encodeEntry(entry: JournalEntry, seq: number, clean: Cleaner, withState = true): JournalRow {
  const shown = clean.once(entry) as Record<string, unknown>;
  const fields = withState ? STATE_FIELDS[entry.type] : undefined;
  let state: Record<string, unknown> | undefined;
  for (const field of fields ?? []) {
    const raw = (entry as unknown as Record<string, unknown>)[field];
    // Stored once: a value the cleaning left as it was is in `data` already (copy-on-write keeps it the same object).
    if (field in entry && shown[field] !== raw) (state ??= {})[field] = raw;
  }
  return { seq, type: entry.type, data: serialise(shown), state: state === undefined ? null : serialise(state) };
}

/**
 * JSON of an entry. The values an entry can hold are bounded upstream (request bodies, upstream
 * JSON, phase outputs), but a custom adapter's result or a log field is not: a value nested too
 * deeply to serialise is replaced by a marker instead of failing the write (never a 500 or a lost journal).
 */
function serialise(value: Record<string, unknown>): string {
  try {
    return JSON.stringify(value);
  } catch (error) {
    const safe: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(value)) {
      const path = findTooDeeplyNested(field);
      safe[key] = path === undefined ? field : { truncated: true, reason: `nested deeper than ${MAX_VALUE_NESTING} levels (at ${path})` };
    }
    try {
      return JSON.stringify(safe);
    } catch {
      throw error;
    }
  }
}

/** Encodes `entries[from…]`; without their raw values when nothing will resume or retry from them. */
export function encodeEntries(entries: readonly JournalEntry[], from: number, clean: Cleaner, withState = true): JournalRow[] {
  const rows: JournalRow[] = [];
  for (let seq = from; seq < entries.length; seq++) rows.push(encodeEntry(entries[seq]!, seq, clean, withState));
  return rows;
}

/** Rows back to entries; with their state when the rows carry it (as shown otherwise). */
export function decodeRows(rows: readonly JournalRow[]): JournalEntry[] {
  return rows.map((row) => {
    const entry = JSON.parse(row.data) as Record<string, unknown>;
    if (row.state !== null) Object.assign(entry, JSON.parse(row.state) as Record<string, unknown>);
    return entry as unknown as JournalEntry;
  });
}
