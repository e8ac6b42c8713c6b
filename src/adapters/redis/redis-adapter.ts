import { Redis } from 'ioredis';
import { z } from 'zod';
import { attemptTimedOut, untilAborted } from '../abortable.js';
import { checkedHost, type EgressTargetOptions } from '../egress-target.js';
import { RetryableError, TerminalError, failureOf } from '../failures.js';
import type { ComponentAdapter } from '../types.js';
import { COMMAND_NAMES, bindArgs, checkRedisTemplate } from './redis-commands.js';

export const DEFAULT_MAX_ITEMS = 1000;

export const RedisConfigSchema = z.strictObject({
  /** `redis://[:password@]host:6379[/db]` or `rediss://` (TLS); use `${secret:NAME}` for the password. */
  url: z.string().min(1),
  /** Put before every key this component touches (not before publish channels), e.g. `orders:`. */
  key_prefix: z.string().max(200).optional(),
  /** Items `lrange` may return; past it the list is cut and marked `truncated: true`. */
  max_items: z.number().int().min(1).max(100_000).optional(),
  connect_timeout_ms: z.number().int().min(100).max(120_000).optional(),
});
export type RedisConfig = z.infer<typeof RedisConfigSchema>;

export type RedisAdapterOptions = EgressTargetOptions;

interface RedisUrl {
  readonly hostname: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
  readonly db: number;
  readonly tls: boolean;
}

/**
 * Runs a safe subset of Redis commands (get/set with TTL, del, incr, expire, hashes, lists, publish,
 * a lock with an expiry) chosen in the flow file, with arguments bound from the phase's request.
 * One connection per component, opened at the first call (again after a close), closed at
 * shutdown or when its flow definition is no longer in use.
 */
export function createRedisAdapter(options: RedisAdapterOptions = {}): ComponentAdapter<RedisConfig> {
  return {
    kind: 'redis',
    configSchema: RedisConfigSchema,
    create(config, init) {
      const url = parseUrl(config.url);
      const prefix = config.key_prefix ?? '';
      const limits = { maxItems: config.max_items ?? DEFAULT_MAX_ITEMS };
      let client: Promise<Redis> | undefined;
      let instance: Redis | undefined;
      const open = (): Promise<Redis> => {
        if (client !== undefined) return client;
        // A connection a close() abandoned while it was opening is not taken for the current one.
        const attempt: Promise<Redis> = connect(url, config, options, (created) => {
          if (client === attempt) instance = created;
        }).catch((error: unknown) => {
          if (client === attempt) client = undefined;
          throw error;
        });
        client = attempt;
        return attempt;
      };
      /**
       * Drops a connection that did not answer in time: one not ready (reconnecting), or one that
       * left a command unanswered for a whole attempt (frozen: Redis answers in microseconds, and
       * every later command would queue behind it). The next call opens a new one.
       */
      const dropIfStuck = (signal: AbortSignal, used: Redis | undefined): void => {
        // Only the connection this attempt waited on: a newer one a retry opened is not dropped.
        if (instance !== undefined && (instance.status !== 'ready' || (attemptTimedOut(signal) && used === instance))) {
          instance.disconnect();
          instance = undefined;
          client = undefined;
        }
      };
      return {
        async execute(raw, ctx) {
          const { command, spec, args } = bindArgs(raw, prefix);
          ctx.sent?.({ command, ...args });
          ctx.signal.throwIfAborted();
          try {
            // Redis runs each command atomically and cannot stop one it received; on abort the
            // attempt stops waiting, and a connection that does not answer is dropped and reopened.
            let used: Redis | undefined;
            return await untilAborted(
              open().then((redis) => {
                used = redis;
                return spec.run(redis, args, { maxItems: limits.maxItems, idempotencyKey: ctx.idempotencyKey });
              }),
              ctx.signal,
              () => dropIfStuck(ctx.signal, used),
            );
          } catch (error) {
            if (ctx.signal.aborted || failureOf(error) !== undefined) throw error;
            throw classifyRedisError(error, init.name);
          }
        },
        checkRequest: checkRedisTemplate,
        async ready() {
          await (await open()).ping();
        },
        async close() {
          const opening = client;
          const current = instance;
          client = undefined;
          instance = undefined;
          // Still opening (a readiness check): close what it opens. The next call opens anew.
          const redis = current ?? (await opening?.catch(() => undefined));
          if (redis === undefined) return;
          if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
          else redis.disconnect();
        },
        describe: () => ({ target: `${url.tls ? 'rediss' : 'redis'}://${url.hostname}:${url.port}/${url.db}`, key_prefix: prefix, commands: COMMAND_NAMES }),
      };
    },
  };
}

async function connect(url: RedisUrl, config: RedisConfig, options: RedisAdapterOptions, created: (redis: Redis) => void): Promise<Redis> {
  const host = await checkedHost(url.hostname, options, (error) => classifyRedisError(error, url.hostname), 'REDIS_CONNECTION');
  const redis = new Redis({
    host,
    port: url.port,
    db: url.db,
    ...(url.username === '' ? {} : { username: url.username }),
    ...(url.password === '' ? {} : { password: url.password }),
    ...(url.tls ? { tls: { servername: url.hostname, rejectUnauthorized: true } } : {}),
    lazyConnect: true,
    connectTimeout: config.connect_timeout_ms ?? 5_000,
    // A command fails at once when the connection drops (the phase's retry policy retries it);
    // the client reconnects in the background for the next one.
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: (times) => Math.min(times * 100, 2_000),
  });
  // Errors reach the command that meets them; the event would otherwise crash the process.
  redis.on('error', () => undefined);
  created(redis);
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    throw classifyRedisError(error, url.hostname);
  }
  return redis;
}

const TRANSIENT_REPLIES = ['LOADING', 'BUSY', 'TRYAGAIN', 'CLUSTERDOWN', 'MASTERDOWN', 'READONLY'];
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** A driver error as a classified failure with a stable `reason`: connection problems retryable, wrong types terminal. */
export function classifyRedisError(error: unknown, component: string): RetryableError | TerminalError {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  const said = `redis (${component}): ${message}`;
  const detail = { message, ...(typeof code === 'string' ? { code } : {}) };
  const name = error instanceof Error ? error.name : '';
  if (name === 'ReplyError') {
    const word = message.split(' ')[0] ?? '';
    if (TRANSIENT_REPLIES.includes(word)) return new RetryableError(`${said} (retryable)`, { reason: 'REDIS_UNAVAILABLE', category: 'transient', detail, cause: error });
    if (word === 'WRONGTYPE') return new TerminalError(said, { reason: 'REDIS_WRONG_TYPE', detail, cause: error });
    if (word === 'NOAUTH' || word === 'WRONGPASS' || word === 'NOPERM') return new TerminalError(said, { reason: 'REDIS_AUTH', detail, cause: error });
    if (/not an integer|out of range/.test(message)) return new TerminalError(said, { reason: 'REDIS_NOT_AN_INTEGER', detail, cause: error });
    return new TerminalError(said, { reason: 'REDIS_ERROR', detail, cause: error });
  }
  if ((typeof code === 'string' && NETWORK_CODES.has(code)) || name === 'MaxRetriesPerRequestError' || /connection|stream isn't writeable|closed/i.test(message)) {
    return new RetryableError(`${said} (connection failed; retryable)`, { reason: 'REDIS_CONNECTION', category: 'network', detail, cause: error });
  }
  return new TerminalError(said, { reason: 'REDIS_ERROR', detail, cause: error });
}

function parseUrl(text: string): RedisUrl {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error('url is not a URL: write redis://host:6379/0 (rediss:// for TLS; a password as redis://:${secret:NAME}@host:6379)');
  }
  const scheme = url.protocol.slice(0, -1);
  if (scheme !== 'redis' && scheme !== 'rediss') throw new Error(`url scheme "${scheme}:" is not supported: use redis:// or rediss:// (TLS)`);
  if (url.hostname === '') throw new Error('url has no host');
  const path = url.pathname.replace(/^\//, '');
  const db = path === '' ? 0 : Number(path);
  if (!Number.isInteger(db) || db < 0 || db > 15) throw new Error(`url database "${path}" must be a number 0–15 (redis://host:6379/0)`);
  return {
    hostname: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port === '' ? 6379 : Number(url.port),
    username: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    db,
    tls: scheme === 'rediss',
  };
}
