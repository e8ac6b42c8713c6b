import type { JournalRow } from './execution-store.js';

/**
 * How the SQL stores keep journal rows: the rows of one write go to the database as ONE table row
 * (a "pack"), not one table row per entry. A sync execution kept with `PERSISTENCE=all` is one
 * write of ~10 entries: one heap tuple and one index entry (and their WAL records) instead of ten
 * of each — most of what PostgreSQL spent per execution.
 *
 * A pack is keyed by the `seq` of its LAST entry and carries that entry's `type`; a pack never
 * goes past an `execution_finished` entry (the `triggered` entries written after it start the
 * next one), so `type = 'execution_finished'` finds the row that ends with it. Its `data` is a JSON array of
 * `type, entry` pairs (`["phase_started",{…},"phase_ended",{…}]`, readable with `data::jsonb`),
 * its `state` a JSON array of the entries' states (strings or null), or NULL when none has one.
 * A write of a single entry is stored as before: `data` the entry's JSON object. Entries are
 * JSON objects (`{`), so a table row whose `data` starts with `[` is a pack.
 *
 * Retried writes stay idempotent: the stores leave out what the stored journal already reaches
 * (it is stored as a prefix: every `seq` up to its last one); a write that overlaps it and goes
 * further (rows 3–7 after 3–5) is stored — by SQLite without the rows it has, by PostgreSQL's
 * batch statement whole, beside the first — and `unpackRows` keeps the first copy of each `seq`.
 */
export interface StoredRow {
  readonly seq: number;
  readonly type: string;
  readonly data: string;
  readonly state: string | null;
}

const PACK = 91; // '['
const FINISHED = 'execution_finished';

/**
 * The table rows for one write's journal rows: one per run of consecutive `seq`s, each run ending
 * at an `execution_finished` entry at the latest (one row, in practice; two for a flow whose
 * final write carries `triggered` entries).
 */
export function packRows(rows: readonly JournalRow[]): StoredRow[] {
  const packs: StoredRow[] = [];
  let start = 0;
  for (let i = 1; i <= rows.length; i++) {
    if (i < rows.length && rows[i]!.seq === rows[i - 1]!.seq + 1 && rows[i - 1]!.type !== FINISHED) continue;
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

/**
 * Table rows (in `seq` order) back to journal rows, each `seq` once: where two table rows hold the
 * same entry (a retried write that overlapped, stored because it went further), the one with the
 * lower key — written first — is kept.
 */
export function unpackRows(stored: readonly StoredRow[]): JournalRow[] {
  const rows: JournalRow[] = [];
  let seen: Set<number> | undefined;
  let last = -1;
  const add = (row: JournalRow): void => {
    // In order and new: the common case, no set needed.
    if (row.seq > last && seen === undefined) {
      rows.push(row);
      last = row.seq;
      return;
    }
    seen ??= new Set(rows.map((kept) => kept.seq));
    if (seen.has(row.seq)) return;
    seen.add(row.seq);
    rows.push(row);
  };
  for (const row of stored) {
    if (row.data.charCodeAt(0) !== PACK) {
      add({ seq: row.seq, type: row.type, data: row.data, state: row.state });
      continue;
    }
    const pairs = JSON.parse(row.data) as unknown[];
    const states = row.state === null ? undefined : (JSON.parse(row.state) as (string | null)[]);
    const count = pairs.length / 2;
    const first = row.seq - count + 1;
    for (let i = 0; i < count; i++) add({ seq: first + i, type: pairs[2 * i] as string, data: JSON.stringify(pairs[2 * i + 1]), state: states?.[i] ?? null });
  }
  return seen === undefined ? rows : rows.sort((a, b) => a.seq - b.seq);
}

/** The last entry of type `type` in a table row (a pack's, or the row itself). */
export function lastOfType(row: StoredRow, type: string): JournalRow | undefined {
  const rows = unpackRows([row]);
  for (let i = rows.length - 1; i >= 0; i--) if (rows[i]!.type === type) return rows[i];
  return undefined;
}
