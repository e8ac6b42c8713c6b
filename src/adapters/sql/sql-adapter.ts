import { z } from 'zod';
import { didYouMean, listNames } from '../../flows/suggest.js';
import { checkedHost, type EgressTargetOptions } from '../egress-target.js';
import { TerminalError, failureOf } from '../failures.js';
import type { ComponentAdapter, RequestIssue } from '../types.js';
import { classifySqlError } from './sql-errors.js';
import { createDriver, type RawResult, type SqlDriver, type SqlTarget } from './sql-drivers.js';
import { parseStatement, type Dialect, type ParsedStatement } from './sql-params.js';

export const DEFAULT_MAX_ROWS = 1000;
const STATEMENT_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export const SqlConfigSchema = z.strictObject({
  /** `postgres://user:password@host:5432/db` or `mysql://…` (`mariadb://` too); use `${secret:NAME}` for credentials. */
  url: z.string().min(1),
  /** The only SQL this component runs: named statements with `:param` placeholders. */
  statements: z.record(z.string().regex(STATEMENT_NAME, 'statement names are identifiers (letters, digits, _)'), z.string().min(1).max(100_000)),
  /** Rows a query may return; past it the result is cut and marked `truncated: true`. */
  max_rows: z.number().int().min(1).max(100_000).optional(),
  pool: z
    .strictObject({
      max: z.number().int().min(1).max(100).optional(),
      idle_timeout_ms: z.number().int().min(100).max(3_600_000).optional(),
      connect_timeout_ms: z.number().int().min(100).max(120_000).optional(),
    })
    .optional(),
});
export type SqlConfig = z.infer<typeof SqlConfigSchema>;

const StatementCall = z.strictObject({ statement: z.string(), params: z.record(z.string(), z.unknown()).optional() });
export const SqlRequestSchema = z.union([StatementCall, z.strictObject({ transaction: z.array(StatementCall).min(1).max(50) })]);
type StatementCallValue = z.infer<typeof StatementCall>;

export type SqlAdapterOptions = EgressTargetOptions;

/**
 * Runs declared SQL statements against PostgreSQL or MySQL/MariaDB with values bound from the
 * phase's request — never spliced into SQL text. One pool per component, opened at the first call
 * (again after a close).
 */
export function createSqlAdapter(options: SqlAdapterOptions = {}): ComponentAdapter<SqlConfig> {
  return {
    kind: 'sql',
    configSchema: SqlConfigSchema,
    requestSchema: SqlRequestSchema,
    create(config, init) {
      const url = parseUrl(config.url);
      const statements = new Map<string, { sql: string; parsed: ParsedStatement }>();
      for (const [name, sql] of Object.entries(config.statements)) {
        if (sql.includes('{%')) throw new Error(`statement "${name}" contains an expression: SQL text is fixed in the flow file; bind values as :params from the phase's request`);
        statements.set(name, { sql, parsed: parseStatement(sql, url.dialect) });
      }
      const maxRows = config.max_rows ?? DEFAULT_MAX_ROWS;
      let driver: Promise<SqlDriver> | undefined;
      const open = (): Promise<SqlDriver> => {
        if (driver !== undefined) return driver;
        const attempt: Promise<SqlDriver> = resolveTarget(url, options)
          .then((target) =>
            createDriver(target, {
              max: config.pool?.max ?? 10,
              idleTimeoutMs: config.pool?.idle_timeout_ms ?? 30_000,
              connectTimeoutMs: config.pool?.connect_timeout_ms ?? 5_000,
            }),
          )
          .catch((error: unknown) => {
            // Not a newer pool opened after a close().
            if (driver === attempt) driver = undefined;
            throw error;
          });
        driver = attempt;
        return attempt;
      };
      const lookup = (call: StatementCallValue) => {
        const statement = statements.get(call.statement);
        if (statement === undefined) throw new TerminalError(`component "${init.name}" has no statement "${call.statement}"`, { reason: 'SQL_UNKNOWN_STATEMENT' });
        return { call, statement };
      };
      return {
        async execute(raw, ctx) {
          const request = SqlRequestSchema.parse(raw);
          const calls = 'transaction' in request ? request.transaction.map(lookup) : [lookup(request)];
          const bound = calls.map(({ call, statement }) => ({
            text: statement.parsed.text,
            values: statement.parsed.order.map((name) => toDatabaseValue(call.params?.[name])),
          }));
          const shown = calls.map(({ call, statement }) => ({ statement: call.statement, sql: statement.sql, params: call.params ?? {} }));
          ctx.sent?.('transaction' in request ? { transaction: shown } : shown[0]!);
          let results: RawResult[];
          try {
            results = await (await open()).run(bound, 'transaction' in request || bound.length > 1, ctx.signal);
          } catch (error) {
            if (ctx.signal.aborted || failureOf(error) !== undefined) throw error;
            throw classifySqlError(error, init.name);
          }
          const shaped = results.map((result) => shape(result, maxRows));
          return 'transaction' in request ? { results: shaped } : shaped[0];
        },
        checkRequest: (template) => checkTemplate(template, statements),
        async ready() {
          await (await open()).ping();
        },
        async close() {
          const opened = driver;
          driver = undefined;
          if (opened !== undefined) await (await opened.catch(() => undefined))?.close();
        },
        describe: () => ({ target: `${url.dialect}://${url.hostname}:${url.port}/${url.database}`, statements: [...statements.keys()] }),
      };
    },
  };
}

function shape(result: RawResult, maxRows: number): Record<string, unknown> {
  const truncated = result.rows.length > maxRows;
  return {
    rows: truncated ? result.rows.slice(0, maxRows) : result.rows,
    rowCount: result.rowCount,
    ...(result.insertId === undefined ? {} : { insertId: result.insertId }),
    ...(truncated ? { truncated: true } : {}),
  };
}

/** JSON values as the drivers bind them: objects and arrays as JSON text, undefined as NULL. */
function toDatabaseValue(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return value;
}

/** Load-time check of a phase's request: literal statement names that exist, params matching their placeholders. */
function checkTemplate(template: unknown, statements: ReadonlyMap<string, { parsed: ParsedStatement }>): RequestIssue[] {
  const issues: RequestIssue[] = [];
  const names = [...statements.keys()];
  const checkCall = (call: unknown, where: string[]): void => {
    if (typeof call !== 'object' || call === null || Array.isArray(call)) {
      issues.push({ path: where, message: 'a sql request is { statement: <name>, params: { … } } (or { transaction: [ … ] }), written out in the flow file' });
      return;
    }
    const { statement, params } = call as { statement?: unknown; params?: unknown };
    if (typeof statement !== 'string' || statement.includes('{%')) {
      issues.push({ path: [...where, 'statement'], message: `statement must name one of the component's statements (${listNames(names)}), not an expression: SQL is never chosen or built from input` });
      return;
    }
    const declared = statements.get(statement);
    if (declared === undefined) {
      issues.push({ path: [...where, 'statement'], message: `unknown statement "${statement}"${didYouMean(statement, names)}; declared: ${listNames(names)}` });
      return;
    }
    if (params !== undefined && (typeof params !== 'object' || params === null || Array.isArray(params))) {
      issues.push({ path: [...where, 'params'], message: 'params must be an object of values (each may be an expression)' });
      return;
    }
    const given = Object.keys(params ?? {});
    for (const name of declared.parsed.names) {
      if (!given.includes(name)) issues.push({ path: [...where, 'params'], message: `statement "${statement}" uses :${name} but params has no "${name}"` });
    }
    for (const name of given) {
      if (!declared.parsed.names.includes(name)) issues.push({ path: [...where, 'params', name], message: `statement "${statement}" has no :${name}${didYouMean(name, declared.parsed.names)}` });
    }
  };
  if (typeof template === 'object' && template !== null && 'transaction' in template) {
    const list = template.transaction;
    if (!Array.isArray(list) || list.length === 0) issues.push({ path: ['transaction'], message: 'transaction must be a non-empty list of { statement, params }' });
    else list.forEach((call, index) => checkCall(call, [`transaction[${index}]`]));
  } else {
    checkCall(template, []);
  }
  return issues;
}

interface SqlUrl {
  readonly dialect: Dialect;
  readonly hostname: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  readonly tls: boolean;
}

function parseUrl(text: string): SqlUrl {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error('url is not a URL: write postgres://user:password@host:5432/database or mysql://user:password@host:3306/database');
  }
  const scheme = url.protocol.slice(0, -1);
  const dialect: Dialect | undefined = scheme === 'postgres' || scheme === 'postgresql' ? 'postgres' : scheme === 'mysql' || scheme === 'mariadb' ? 'mysql' : undefined;
  if (dialect === undefined) throw new Error(`url scheme "${scheme}:" is not supported: use postgres:// (or postgresql://), mysql:// or mariadb://`);
  if (url.hostname === '') throw new Error('url has no host');
  const mode = url.searchParams.get('sslmode') ?? url.searchParams.get('ssl-mode');
  return {
    dialect,
    hostname: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port === '' ? (dialect === 'postgres' ? 5432 : 3306) : Number(url.port),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: decodeURIComponent(url.pathname.replace(/^\//, '')),
    tls: mode !== null && !['disable', 'DISABLED', 'prefer', 'PREFERRED'].includes(mode),
  };
}

/** Resolves the host once and checks every address against the egress policy; connects to the checked address. */
async function resolveTarget(url: SqlUrl, options: SqlAdapterOptions): Promise<SqlTarget> {
  return { ...url, host: await checkedHost(url.hostname, options, (error) => classifySqlError(error, url.hostname), 'SQL_CONNECTION') };
}
