import type { JournalRow } from './execution-store.js';

/**
 * How the SQL stores keep journal rows: the rows of one write go to the database as ONE table row
 * (a "pack"), not one table row per entry. A sync execution kept with `PERSISTENCE=all` is one
 * write of ~10 entries: one index entry, one heap tuple and one WAL record instead of ten — most
 * of what PostgreSQL spent per execution.
 *
 * A pack is keyed by the `seq` of its LAST entry and carries that entry's `type` (so
 * `type = 'execution_finished'` still finds the final write); its `data` is a JSON array of
 * `type, entry` pairs (`["phase_started",{…},"phase_ended",{…}]`, readable with `data::jsonb`),
 * its `state` a JSON array of the entries' states (strings or null), or NULL when none has one.
 * A write of a single entry is stored as before: `data` the entry's JSON object. Entries are
 * JSON objects (`{`), so a table row whose `data` starts with `[` is a pack.
 *
 * Retried writes stay idempotent: the same rows make the same key (ignored on conflict); a write
 * that overlaps one already stored (rows 3–7 after 3–5) is stored beside it and `unpackRows`
 * keeps the first copy of each `seq`.
 */
export interface StoredRow {
  readonly seq: number;
  readonly type: string;
  readonly data: string;
  readonly state: string | null;
}

const PACK = 91; // '['

/** The table rows for one write's journal rows: one per run of consecutive `seq`s (one, in practice). */
export function packRows(rows: readonly JournalRow[]): StoredRow[] {
  const packs: StoredRow[] = [];
  let start = 0;
  for (let i = 1; i <= rows.length; i++) {
    if (i < rows.length && rows[i]!.seq === rows[i - 1]!.seq + 1) continue;
    packs.push(pack(rows, start, i));
    start = i;
  }
  return packs;
}

function pack(rows: readonly JournalRow[], from: number, to: number): StoredRow {
  const last = rows[to - 1]!;
  if (to - from === 1) return last;
  let data = '[';
  let withState = false;
  for (let i = from; i < to; i++) {
    const row = rows[i]!;
    data += `${i > from ? ',' : ''}${JSON.stringify(row.type)},${row.data}`;
    if (row.state !== null) withState = true;
  }
  const state = withState ? JSON.stringify(rows.slice(from, to).map((row) => row.state)) : null;
  return { seq: last.seq, type: last.type, data: `${data}]`, state };
}

/** Table rows (in `seq` order) back to journal rows, each `seq` once. */
export function unpackRows(stored: readonly StoredRow[]): JournalRow[] {
  const rows: JournalRow[] = [];
  let last = -1;
  for (const row of stored) {
    if (row.data.charCodeAt(0) !== PACK) {
      if (row.seq > last) rows.push({ seq: row.seq, type: row.type, data: row.data, state: row.state });
      last = Math.max(last, row.seq);
      continue;
    }
    const pairs = JSON.parse(row.data) as unknown[];
    const states = row.state === null ? undefined : (JSON.parse(row.state) as (string | null)[]);
    const count = pairs.length / 2;
    const first = row.seq - count + 1;
    for (let i = 0; i < count; i++) {
      const seq = first + i;
      if (seq <= last) continue;
      rows.push({ seq, type: pairs[2 * i] as string, data: JSON.stringify(pairs[2 * i + 1]), state: states?.[i] ?? null });
    }
    last = Math.max(last, row.seq);
  }
  return rows;
}

/** The last entry of type `type` in a table row (a pack's, or the row itself). */
export function lastOfType(row: StoredRow, type: string): JournalRow | undefined {
  const rows = unpackRows([row]);
  for (let i = rows.length - 1; i >= 0; i--) if (rows[i]!.type === type) return rows[i];
  return undefined;
}
