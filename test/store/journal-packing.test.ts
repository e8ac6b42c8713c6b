import { describe, expect, it } from 'vitest';
import type { JournalRow } from '../../src/store/execution-store.js';
import { lastOfType, packRows, unpackRows } from '../../src/store/journal-packing.js';
import { row } from './store-fixtures.js';

const rows = (from: number, to: number): JournalRow[] =>
  Array.from({ length: to - from + 1 }, (_, i) => row(from + i, i === to - from ? 'phase_ended' : 'phase_started', { n: from + i, text: 'a "quoted" \\ é 🙂' }));

describe('journal packing (the SQL stores keep one table row per write)', () => {
  it('packs a write of consecutive rows into one table row keyed by its last seq, and unpacks the same rows', () => {
    const written = rows(3, 7);
    const packs = packRows(written);
    expect(packs).toHaveLength(1);
    expect(packs[0]).toMatchObject({ seq: 7, type: 'phase_ended', state: null });
    expect(JSON.parse(packs[0]!.data)).toEqual(written.flatMap((r) => [r.type, JSON.parse(r.data) as unknown]));
    expect(unpackRows(packs)).toEqual(written);
  });

  it('stores a single row as it is (a JSON object), as rows were stored before packing', () => {
    const single = row(0, 'execution_started', { input: { a: 1 } }, { input: { secret: 's' } });
    expect(packRows([single])).toEqual([single]);
    expect(unpackRows([single])).toEqual([single]);
  });

  it('keeps each row’s state (raw values, or an encrypted string) beside it, and no state column when none has one', () => {
    const written = [row(0, 'execution_started', {}, { input: { card: '4111' } }), row(1, 'phase_started'), { ...row(2, 'phase_ended'), state: 'v1:c2VhbGVk' }];
    const [pack] = packRows(written);
    expect(JSON.parse(pack!.state!)).toEqual([written[0]!.state, null, 'v1:c2VhbGVk']);
    expect(unpackRows([pack!])).toEqual(written);
    expect(unpackRows([{ ...pack!, state: null }]).map((r) => r.state)).toEqual([null, null, null]);
  });

  it('splits rows that are not consecutive into one table row per run', () => {
    const written = [...rows(0, 1), ...rows(4, 6)];
    expect(packRows(written).map((pack) => pack.seq)).toEqual([1, 6]);
    expect(unpackRows(packRows(written))).toEqual(written);
  });

  it('reads each seq once when a retried write overlapped one already stored, and old one-entry rows beside packs', () => {
    const stored = [...rows(0, 2), ...packRows(rows(3, 5)), ...packRows(rows(3, 7))].sort((a, b) => a.seq - b.seq);
    expect(unpackRows(stored).map((r) => r.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(unpackRows(stored)).toEqual(rows(0, 2).concat(rows(3, 5), rows(3, 7).slice(3)));
  });

  it('reads each seq once and in order whatever the table rows overlap (a shorter write inside a stored one, a subset)', () => {
    const stored = [...packRows(rows(1, 2)), ...packRows(rows(1, 3)), ...packRows(rows(5, 6)), ...packRows(rows(3, 7))].sort((a, b) => a.seq - b.seq);
    const read = unpackRows(stored);
    expect(read.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(read[0]).toEqual(rows(1, 2)[0]); // the lower key's copy
  });

  it('ends a table row at execution_finished, so the entries written after it (triggered) do not hide it from type look-ups', () => {
    const written = [row(7, 'phase_ended'), row(8, 'execution_finished', { status: 'succeeded' }), row(9, 'triggered'), row(10, 'triggered')];
    const packs = packRows(written);
    expect(packs.map((pack) => [pack.seq, pack.type])).toEqual([
      [8, 'execution_finished'],
      [10, 'triggered'],
    ]);
    expect(unpackRows(packs)).toEqual(written);
  });

  it('finds the last entry of a type in a table row', () => {
    const written = [row(8, 'phase_ended'), row(9, 'execution_finished', { status: 'succeeded' }, { output: { x: 1 } })];
    expect(lastOfType(packRows(written)[0]!, 'execution_finished')).toEqual(written[1]);
    expect(lastOfType(packRows(written)[0]!, 'signal_received')).toBeUndefined();
  });
});
