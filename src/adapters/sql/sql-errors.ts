import { RetryableError, TerminalError } from '../failures.js';

/**
 * Classifies a driver error so the retry policy does the right thing: lost connections,
 * serialization failures and deadlocks are retryable (each retried attempt reruns the whole
 * transaction); constraint violations, syntax and data errors are terminal. Each gets a stable
 * `reason` (shown as `error.reason`) that a recovery flow or `retry_on` can tell apart.
 */
export function classifySqlError(error: unknown, component: string): RetryableError | TerminalError {
  const e = (typeof error === 'object' && error !== null ? error : {}) as {
    code?: unknown;
    errno?: unknown;
    sqlState?: unknown;
    message?: unknown;
    constraint?: unknown;
    table?: unknown;
    detail?: unknown;
  };
  const message = typeof e.message === 'string' ? e.message : String(error);
  const detail = {
    ...(typeof e.code === 'string' ? { code: e.code } : {}),
    ...(typeof e.errno === 'number' ? { errno: e.errno } : {}),
    ...(typeof e.sqlState === 'string' ? { sqlState: e.sqlState } : {}),
    ...(typeof e.constraint === 'string' ? { constraint: e.constraint } : {}),
    ...(typeof e.table === 'string' ? { table: e.table } : {}),
    ...(typeof e.detail === 'string' ? { detail: e.detail } : {}),
    message,
  };
  const said = `component "${component}": ${message}`;
  const reason = reasonOf(e.code, e.errno, e.sqlState, message);
  const options = { reason: reason.code, detail, cause: error };
  if (reason.retry === 'network') return new RetryableError(`${said} (connection failed; retryable)`, { ...options, category: 'network' });
  if (reason.retry === 'transient') return new RetryableError(`${said} (retryable)`, { ...options, category: 'transient' });
  return new TerminalError(said, options);
}

interface Reason {
  readonly code: string;
  readonly retry?: 'network' | 'transient';
}

const NODE_NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/**
 * What `pg` says, without a code, when the connection closed under a query or could not be had in
 * time ("Connection terminated unexpectedly", "Client has encountered a connection error and is not
 * queryable", "timeout exceeded when trying to connect").
 */
const PG_CONNECTION_MESSAGES = /^Connection terminated|is not queryable|^timeout exceeded when trying to connect|^Connection ended/;

/** MySQL/MariaDB error numbers (errno). */
const MYSQL: Record<number, Reason> = {
  1213: { code: 'SQL_DEADLOCK', retry: 'transient' },
  1205: { code: 'SQL_LOCK_TIMEOUT', retry: 'transient' },
  1040: { code: 'SQL_TOO_MANY_CONNECTIONS', retry: 'transient' },
  1062: { code: 'SQL_UNIQUE_VIOLATION' },
  1451: { code: 'SQL_FOREIGN_KEY_VIOLATION' },
  1452: { code: 'SQL_FOREIGN_KEY_VIOLATION' },
  1048: { code: 'SQL_NOT_NULL_VIOLATION' },
  3819: { code: 'SQL_CHECK_VIOLATION' },
  4025: { code: 'SQL_CHECK_VIOLATION' }, // MariaDB's ER_CONSTRAINT_FAILED
  1317: { code: 'SQL_QUERY_CANCELLED' }, // KILL QUERY from elsewhere
  1064: { code: 'SQL_SYNTAX_ERROR' },
  1146: { code: 'SQL_UNDEFINED_TABLE' },
  1054: { code: 'SQL_UNDEFINED_COLUMN' },
};

/** PostgreSQL SQLSTATE codes (and classes). */
const POSTGRES: Record<string, Reason> = {
  '40001': { code: 'SQL_SERIALIZATION_FAILURE', retry: 'transient' },
  '40P01': { code: 'SQL_DEADLOCK', retry: 'transient' },
  '55P03': { code: 'SQL_LOCK_TIMEOUT', retry: 'transient' },
  '53300': { code: 'SQL_TOO_MANY_CONNECTIONS', retry: 'transient' },
  '57P01': { code: 'SQL_CONNECTION', retry: 'network' },
  '57014': { code: 'SQL_QUERY_CANCELLED' }, // pg_cancel_backend from elsewhere
  '23505': { code: 'SQL_UNIQUE_VIOLATION' },
  '23503': { code: 'SQL_FOREIGN_KEY_VIOLATION' },
  '23502': { code: 'SQL_NOT_NULL_VIOLATION' },
  '23514': { code: 'SQL_CHECK_VIOLATION' },
  '42601': { code: 'SQL_SYNTAX_ERROR' },
  '42P01': { code: 'SQL_UNDEFINED_TABLE' },
  '42703': { code: 'SQL_UNDEFINED_COLUMN' },
};

function reasonOf(code: unknown, errno: unknown, sqlState: unknown, message: string): Reason {
  if (typeof code === 'string' && (NODE_NETWORK_CODES.has(code) || code === 'PROTOCOL_CONNECTION_LOST')) return { code: 'SQL_CONNECTION', retry: 'network' };
  if (code === undefined && PG_CONNECTION_MESSAGES.test(message)) return { code: 'SQL_CONNECTION', retry: 'network' };
  if (typeof errno === 'number' && typeof sqlState === 'string') return MYSQL[errno] ?? byClass(sqlState);
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return POSTGRES[code] ?? byClass(code);
  return { code: 'SQL_ERROR' };
}

function byClass(state: string): Reason {
  switch (state.slice(0, 2)) {
    case '08':
      return { code: 'SQL_CONNECTION', retry: 'network' };
    case '40':
      return { code: 'SQL_TRANSACTION_ROLLBACK', retry: 'transient' };
    case '23':
      return { code: 'SQL_CONSTRAINT_VIOLATION' };
    case '22':
      return { code: 'SQL_DATA_EXCEPTION' };
    case '42':
      return { code: 'SQL_SYNTAX_OR_ACCESS' };
    default:
      return { code: 'SQL_ERROR' };
  }
}
