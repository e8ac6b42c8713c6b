import mysql from 'mysql2/promise';
import pg from 'pg';
import { untilAborted } from '../abortable.js';
import type { Dialect } from './sql-params.js';

/** One statement with its values bound, in the driver's placeholder form. */
export interface BoundStatement {
  readonly text: string;
  readonly values: readonly unknown[];
}

export interface RawResult {
  readonly rows: readonly Record<string, unknown>[];
  /** Rows returned by a query, or rows affected by an INSERT/UPDATE/DELETE. */
  readonly rowCount: number;
  readonly insertId?: number | undefined;
}

/** Where to connect: the URL's parts, with the host already checked against the egress policy. */
export interface SqlTarget {
  readonly dialect: Dialect;
  /** The address connected to (an IP the egress policy allowed). */
  readonly host: string;
  /** The name in the URL, for TLS server-name checks. */
  readonly hostname: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  readonly tls: boolean;
}

export interface PoolSettings {
  readonly max: number;
  readonly idleTimeoutMs: number;
  readonly connectTimeoutMs: number;
}

/** A pool per component: runs statements (in one transaction when asked), cancels on abort. */
export interface SqlDriver {
  run(statements: readonly BoundStatement[], transaction: boolean, signal: AbortSignal): Promise<RawResult[]>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export function createDriver(target: SqlTarget, pool: PoolSettings): SqlDriver {
  return target.dialect === 'postgres' ? postgresDriver(target, pool) : mysqlDriver(target, pool);
}

function postgresDriver(target: SqlTarget, settings: PoolSettings): SqlDriver {
  const connection = {
    host: target.host,
    port: target.port,
    user: target.user,
    password: target.password,
    database: target.database,
    connectionTimeoutMillis: settings.connectTimeoutMs,
    ...(target.tls ? { ssl: { rejectUnauthorized: true, servername: target.hostname } } : {}),
  };
  const pool = new pg.Pool({ ...connection, max: settings.max, idleTimeoutMillis: settings.idleTimeoutMs });
  // An idle client losing its connection must not crash the process; the next call reconnects.
  pool.on('error', () => undefined);
  /** Real cancellation, on a connection of its own: the pool may be full (that may be why the call timed out). */
  const cancelBackend = async (pid: number | undefined): Promise<void> => {
    if (pid === undefined) return;
    const canceller = new pg.Client(connection);
    canceller.on('error', () => undefined);
    try {
      await canceller.connect();
      await canceller.query('SELECT pg_cancel_backend($1)', [pid]);
    } finally {
      await canceller.end().catch(() => undefined);
    }
  };
  return {
    async run(statements, transaction, signal) {
      const client = await checkedOut(signal, () => pool.connect(), (late) => late.release());
      let broken: Error | undefined;
      // A connection lost while the client is checked out is emitted on the client: without a listener, the process would crash.
      const lost = (error: Error): void => void (broken ??= error);
      client.on('error', lost);
      const pid = (client as unknown as { processID?: number }).processID;
      const cancel = (): void => {
        broken ??= new Error('cancelled');
        void cancelBackend(pid).catch(() => undefined);
      };
      signal.addEventListener('abort', cancel, { once: true });
      const work = (async () => {
        try {
          if (transaction) await client.query('BEGIN');
          const results: RawResult[] = [];
          for (const statement of statements) {
            const result = await client.query({ text: statement.text, values: [...statement.values] });
            results.push({ rows: result.rows as Record<string, unknown>[], rowCount: result.command === 'SELECT' ? result.rows.length : (result.rowCount ?? 0) });
          }
          if (transaction) await client.query('COMMIT');
          return results;
        } catch (error) {
          if (transaction && broken === undefined) await client.query('ROLLBACK').catch((rollbackError: unknown) => void (broken ??= rollbackError as Error));
          throw error;
        } finally {
          signal.removeEventListener('abort', cancel);
          // A client whose state is unknown (cancelled, lost, failed rollback) is discarded, not pooled.
          client.release(broken);
          client.removeListener('error', lost);
        }
      })();
      return untilAborted(work, signal);
    },
    async ping() {
      await pool.query('SELECT 1');
    },
    close: () => pool.end(),
  };
}

function mysqlDriver(target: SqlTarget, settings: PoolSettings): SqlDriver {
  const options = {
    // With TLS the certificate is checked against the name (mysql2 has no separate server name), which a rebinding cannot fake.
    host: target.tls ? target.hostname : target.host,
    port: target.port,
    user: target.user,
    password: target.password,
    database: target.database,
    connectTimeout: settings.connectTimeoutMs,
    supportBigNumbers: true,
    bigNumberStrings: true,
    ...(target.tls ? { ssl: { rejectUnauthorized: true } } : {}),
  };
  const pool = mysql.createPool({ ...options, connectionLimit: settings.max, maxIdle: settings.max, idleTimeout: settings.idleTimeoutMs });
  /** KILL QUERY on a connection of its own: the pool may be full (that may be why the call timed out). */
  const killQuery = async (threadId: number): Promise<void> => {
    const killer = await mysql.createConnection(options);
    try {
      await killer.query(`KILL QUERY ${threadId}`);
    } finally {
      killer.destroy();
    }
  };
  return {
    async run(statements, transaction, signal) {
      const connection = await checkedOut(signal, () => pool.getConnection(), (late) => late.release());
      let broken = false;
      const cancel = (): void => {
        broken = true;
        void killQuery(Number(connection.threadId)).catch(() => undefined);
      };
      signal.addEventListener('abort', cancel, { once: true });
      const work = (async () => {
        try {
          if (transaction) await connection.query('START TRANSACTION');
          const results: RawResult[] = [];
          for (const statement of statements) {
            const [rows] = await connection.execute(statement.text, [...statement.values] as never[]);
            if (Array.isArray(rows)) results.push({ rows: rows as Record<string, unknown>[], rowCount: rows.length });
            else {
              const header = rows as { affectedRows: number; insertId: number };
              results.push({ rows: [], rowCount: header.affectedRows, ...(header.insertId ? { insertId: header.insertId } : {}) });
            }
          }
          if (transaction) await connection.query('COMMIT');
          return results;
        } catch (error) {
          if (transaction && !broken) await connection.query('ROLLBACK').catch(() => (broken = true));
          if ((error as { fatal?: unknown }).fatal === true) broken = true;
          throw error;
        } finally {
          signal.removeEventListener('abort', cancel);
          if (broken) connection.destroy();
          else connection.release();
        }
      })();
      return untilAborted(work, signal);
    },
    async ping() {
      await pool.query('SELECT 1');
    },
    close: () => pool.end(),
  };
}

/**
 * A pooled connection, or the abort's reason as soon as the signal aborts: waiting for a full pool
 * counts against the call's timeout. A connection handed over after the abort goes back at once.
 */
async function checkedOut<T>(signal: AbortSignal, connect: () => Promise<T>, giveBack: (late: T) => void): Promise<T> {
  signal.throwIfAborted();
  const connecting = connect();
  try {
    return await untilAborted(connecting, signal);
  } catch (error) {
    if (signal.aborted) void connecting.then(giveBack, () => undefined);
    throw error;
  }
}
