// PostgreSQL for the benchmark: a schema per run, PostgreSQL's own statistics, a wire counter and the CPU of the
// postgres processes — what one durable execution costs the database (issue 14, item 3).
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import pg from 'pg';
import { readCpuTicks } from './proc.mjs';

/** A client on `url` (closed by the caller). */
export async function connectPg(url) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

export async function dropSchema(url, schema) {
  const c = await connectPg(url);
  try {
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await c.end();
  }
}

/**
 * Row counters of the tables in `schema` (pg_stat_user_tables: inserted, updated, deleted rows) and the database's
 * committed transactions (pg_stat_database; database-wide, so other clients of the same database count too).
 * PostgreSQL publishes a backend's counters when it goes idle, at most about every second and at the latest after
 * 10 s: `settledStats` waits for them to stop moving.
 */
export async function pgStats(client, schema) {
  const t = await client.query(
    `SELECT coalesce(sum(n_tup_ins),0)::bigint AS ins, coalesce(sum(n_tup_upd),0)::bigint AS upd, coalesce(sum(n_tup_del),0)::bigint AS del
       FROM pg_stat_user_tables WHERE schemaname = $1`,
    [schema],
  );
  const d = await client.query('SELECT xact_commit::bigint AS commits FROM pg_stat_database WHERE datname = current_database()');
  return { inserted: Number(t.rows[0].ins), updated: Number(t.rows[0].upd), deleted: Number(t.rows[0].del), commits: Number(d.rows[0].commits) };
}

export async function settledStats(client, schema, { maxMs = 15_000 } = {}) {
  const deadline = Date.now() + maxMs;
  let prev = await pgStats(client, schema);
  let stable = 0;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 1000));
    const cur = await pgStats(client, schema);
    if (cur.inserted === prev.inserted && cur.updated === prev.updated) {
      if (++stable >= 2) return cur;
    } else stable = 0;
    prev = cur;
  }
  return prev;
}

/**
 * A TCP proxy in front of PostgreSQL that reads what the client sends (the frontend protocol, as
 * test/store/pg-wire-counter.ts does): every `Execute` or simple `Query` is a statement; every `Sync` or simple
 * `Query` ends a round trip (the client then waits for ReadyForQuery). Transactions: each explicit BEGIN … COMMIT is
 * one, and each round trip that ran statements outside one is one (autocommit).
 */
export class PgWireCounter {
  constructor(target) {
    this.target = target;
    this.sockets = new Set();
    this.counts = { statements: 0, roundTrips: 0, transactions: 0 };
    this.server = net.createServer((client) => this.#pipe(client));
    this.port = 0;
  }

  async start() {
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = this.server.address().port;
    return this;
  }

  reset() {
    this.counts = { statements: 0, roundTrips: 0, transactions: 0 };
  }

  async stop() {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server.close(() => resolve()));
  }

  #pipe(client) {
    const server = net.connect(this.target.port, this.target.host);
    this.sockets.add(client).add(server);
    const forget = () => {
      this.sockets.delete(client);
      this.sockets.delete(server);
      client.destroy();
      server.destroy();
    };
    client.on('close', forget).on('error', forget);
    server.on('close', forget).on('error', forget);
    server.pipe(client);
    let buffer = Buffer.alloc(0);
    let started = false;
    const conn = { inTx: false, pending: 0, lastParsed: '' };
    client.on('data', (chunk) => {
      server.write(chunk);
      buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
      for (;;) {
        if (!started) {
          if (buffer.length < 4) break;
          const length = buffer.readInt32BE(0);
          if (buffer.length < length) break;
          // SSLRequest / startup: the startup packet has no type byte.
          buffer = buffer.subarray(length);
          started = true;
          continue;
        }
        if (buffer.length < 5) break;
        const length = buffer.readInt32BE(1);
        if (buffer.length < 1 + length) break;
        this.#message(conn, String.fromCharCode(buffer[0]), buffer.subarray(5, 1 + length));
        buffer = buffer.subarray(1 + length);
      }
    });
  }

  #statement(conn, sql) {
    this.counts.statements++;
    const head = sql.trimStart().slice(0, 8).toUpperCase();
    if (head.startsWith('BEGIN') || head.startsWith('START')) conn.inTx = true;
    else if (head.startsWith('COMMIT') || head.startsWith('ROLLBACK') || head.startsWith('END')) {
      conn.inTx = false;
      this.counts.transactions++;
    } else if (!conn.inTx) conn.pending++;
  }

  #endRoundTrip(conn) {
    this.counts.roundTrips++;
    if (!conn.inTx && conn.pending > 0) this.counts.transactions++;
    conn.pending = 0;
  }

  #message(conn, type, body) {
    if (type === 'Q') {
      // Simple query: one or more statements, one round trip.
      const sql = body.toString('utf8', 0, Math.max(0, body.length - 1));
      for (const part of sql.split(';').filter((s) => s.trim())) this.#statement(conn, part);
      this.#endRoundTrip(conn);
    } else if (type === 'P') {
      // Parse: statement name (cstring), then the query text (cstring).
      const nameEnd = body.indexOf(0);
      const textEnd = body.indexOf(0, nameEnd + 1);
      conn.lastParsed = body.toString('utf8', nameEnd + 1, textEnd);
      if (nameEnd > 0) (conn.named ??= new Map()).set(body.toString('utf8', 0, nameEnd), conn.lastParsed);
    } else if (type === 'B') {
      // Bind: portal name, statement name — remember the statement's text for the Execute that follows.
      const portalEnd = body.indexOf(0);
      const stmtEnd = body.indexOf(0, portalEnd + 1);
      const stmt = body.toString('utf8', portalEnd + 1, stmtEnd);
      conn.bound = stmt ? (conn.named?.get(stmt) ?? '') : conn.lastParsed;
    } else if (type === 'E') {
      this.#statement(conn, conn.bound ?? conn.lastParsed);
    } else if (type === 'S') {
      this.#endRoundTrip(conn);
    }
  }
}

/** utime+stime (clock ticks) per pid of every process named `postgres` — the server and its backends. */
export function postgresCpuTicks() {
  let names;
  try {
    names = readdirSync('/proc');
  } catch {
    return null;
  }
  const ticks = new Map();
  for (const name of names) {
    if (name.charCodeAt(0) < 48 || name.charCodeAt(0) > 57) continue;
    let comm;
    try {
      comm = readFileSync(`/proc/${name}/comm`, 'utf8').trim();
    } catch {
      continue;
    }
    if (comm !== 'postgres') continue;
    const t = readCpuTicks(Number(name));
    if (t != null) ticks.set(Number(name), t);
  }
  return ticks.size ? ticks : null;
}

/**
 * CPU ticks the postgres processes used between two `postgresCpuTicks()` snapshots: per pid, so that a backend that
 * ended in between does not make the sum fall; a backend started in between counts from 0.
 */
export function postgresCpuDelta(before, after) {
  if (!before || !after) return null;
  let sum = 0;
  for (const [pid, t] of after) sum += t - (before.get(pid) ?? 0);
  return sum;
}
