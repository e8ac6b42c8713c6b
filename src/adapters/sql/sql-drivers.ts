import mysql from 'mysql2/promise';
import pg from 'pg';
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
  const pool = new pg.Pool({
    host: target.host,
    port: target.port,
    user: target.user,
    password: target.password,
    database: target.database,
    max: settings.max,
    idleTimeoutMillis: settings.idleTimeoutMs,
    connectionTimeoutMillis: settings.connectTimeoutMs,
    ...(target.tls ? { ssl: { rejectUnauthorized: true, servername: target.hostname } } : {}),
  });
  // An idle client losing its connection must not crash the process; the next call reconnects.
  pool.on('error', () => undefined);
  return {
    async run(statements, transaction, signal) {
      signal.throwIfAborted();
      const client = await pool.connect();
      // Real cancellation: ask the server to cancel the backend's running statement.
      const pid = (client as unknown as { processID?: number }).processID;
      const cancel = (): void => void pool.query('SELECT pg_cancel_backend($1)', [pid]).catch(() => undefined);
      signal.addEventListener('abort', cancel, { once: true });
      let broken: Error | undefined;
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
        if (transaction) await client.query('ROLLBACK').catch((rollbackError: unknown) => (broken = rollbackError as Error));
        if (signal.aborted) broken ??= new Error('cancelled');
        throw error;
      } finally {
        signal.removeEventListener('abort', cancel);
        // A client whose state is unknown (cancelled, failed rollback) is discarded, not pooled.
        client.release(broken);
      }
    },
    async ping() {
      await pool.query('SELECT 1');
    },
    close: () => pool.end(),
  };
}

function mysqlDriver(target: SqlTarget, settings: PoolSettings): SqlDriver {
  const pool = mysql.createPool({
    // With TLS the certificate is checked against the name (mysql2 has no separate server name), which a rebinding cannot fake.
    host: target.tls ? target.hostname : target.host,
    port: target.port,
    user: target.user,
    password: target.password,
    database: target.database,
    connectionLimit: settings.max,
    maxIdle: settings.max,
    idleTimeout: settings.idleTimeoutMs,
    connectTimeout: settings.connectTimeoutMs,
    supportBigNumbers: true,
    bigNumberStrings: true,
    ...(target.tls ? { ssl: { rejectUnauthorized: true } } : {}),
  });
  return {
    async run(statements, transaction, signal) {
      signal.throwIfAborted();
      const connection = await pool.getConnection();
      const cancel = (): void => void pool.query(`KILL QUERY ${Number(connection.threadId)}`).catch(() => undefined);
      signal.addEventListener('abort', cancel, { once: true });
      let broken = false;
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
        if (transaction) await connection.query('ROLLBACK').catch(() => (broken = true));
        if (signal.aborted) broken = true;
        throw error;
      } finally {
        signal.removeEventListener('abort', cancel);
        if (broken) connection.destroy();
        else connection.release();
      }
    },
    async ping() {
      await pool.query('SELECT 1');
    },
    close: () => pool.end(),
  };
}
