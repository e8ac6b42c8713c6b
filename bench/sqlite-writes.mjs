/**
 * Micro-benchmark: CPU µs per execution of what durable SQLite writes for one execution of the transform flow (its
 * summary row and nine journal entries of the sizes bench-transform3 writes), in transactions of B executions — with a
 * savepoint around each execution's writes (SQLite's group commit until bbbb085) and without (since: a savepoint is
 * taken only when a batch is run again because one of its writes failed, src/store/sqlite-group-commit.ts); the
 * entries as nine table rows (until bc1f527) or as one (since: src/store/journal-packing.ts). The schema is flowd's
 * own (its migrations from dist/); the statements are those of `SqliteExecutionStore.save`.
 * Not a test: nothing is asserted.
 *
 *   npm run build && node bench/sqlite-writes.mjs [executions]     (default 40000)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { REPO_DIR } from './lib/in-process.mjs';

const { migrateSqlite } = await import(pathToFileURL(path.join(REPO_DIR, 'dist/src/store/migrations/runner.js')).href);
const { NOW } = await import(pathToFileURL(path.join(REPO_DIR, 'dist/src/store/sqlite-group-commit.js')).href);

const count = Number(process.argv[2] ?? 40_000);
// The data column sizes of bench-transform3's journal rows (execution_started … execution_finished).
const ROWS = [295, 65, 127, 110, 127, 110, 127, 154, 140].map((size, seq) => ({ seq, type: `entry${seq}`, data: 'x'.repeat(size) }));
// The same entries in one table row: a JSON array of type, entry pairs (its size: the entries', their types', the separators).
const PACKED = [{ seq: 8, type: 'entry8', data: `[${ROWS.map((row) => `"${row.type}",${row.data}`).join(',')}]` }];
const dir = mkdtempSync(path.join(os.tmpdir(), 'flowd-sqlite-writes-'));
let next = 0;

function measure(label, { savepoints, batch, packed }) {
  const db = new Database(path.join(dir, `${label.replace(/\W+/g, '-')}.db`));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  migrateSqlite(db);
  const summary = db.prepare(
    `INSERT INTO flowd_executions (id, flow, flow_version, flow_hash, status, tenant, parent_id, correlation_key, started_at, finished_at, error_code, recovered)
     VALUES (@id, @flow, @version, @hash, @status, @tenant, @parent, @correlation, coalesce(@startedAt, ${NOW}), ${NOW}, @errorCode, @recovered) ON CONFLICT (id) DO NOTHING`,
  );
  const journal = db.prepare(`INSERT INTO flowd_journal (execution_id, seq, type, data, state) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`);
  const save = () => {
    const id = `01a24800-0000-7000-8000-${String(next++).padStart(12, '0')}`;
    summary.run({ id, flow: 'bench-transform3', version: '1', hash: '7fb4a3814f70333c', status: 'succeeded', tenant: 'local', parent: null, correlation: null, startedAt: Date.now(), errorCode: null, recovered: 0 });
    for (const row of packed ? PACKED : ROWS) journal.run(id, row.seq, row.type, row.data, null);
  };
  const nested = db.transaction((run) => run());
  const transaction = db.transaction((n) => {
    for (let i = 0; i < n; i++) savepoints ? nested(save) : save();
  });
  const run = (executions) => {
    for (let done = 0; done < executions; done += batch) transaction.immediate(Math.min(batch, executions - done));
  };
  run(Math.min(4000, count)); // warm-up
  const before = process.cpuUsage();
  run(count);
  const used = process.cpuUsage(before);
  db.close();
  console.log(`${label.padEnd(42)} ${((used.user + used.system) / count).toFixed(1).padStart(6)} µs/execution`);
}

try {
  for (const batch of [1, 5, 25]) {
    measure(`batches of ${batch}, savepoint per execution`, { savepoints: true, batch });
    measure(`batches of ${batch}, no savepoints`, { savepoints: false, batch });
    measure(`batches of ${batch}, no savepoints, one row`, { savepoints: false, batch, packed: true });
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
