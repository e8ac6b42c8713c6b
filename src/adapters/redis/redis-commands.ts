import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { didYouMean, listNames } from '../../flows/suggest.js';
import { TerminalError } from '../failures.js';
import type { RequestIssue } from '../types.js';

/**
 * The safe subset of Redis commands a `redis` component can run. A phase's request names one of
 * them as a literal (`command: set`) and binds its arguments; nothing else reaches the server.
 */

/** An argument's kind: a key (prefixed), a scalar value, a count or duration, a list of values, a map of fields. */
type ArgKind = 'key' | 'value' | 'integer' | 'ttl' | 'values' | 'fields' | 'channel' | 'token';

interface CommandSpec {
  readonly required: Readonly<Record<string, ArgKind>>;
  readonly optional?: Readonly<Record<string, ArgKind>>;
  /** Sends the command; `a` holds the checked arguments (keys already prefixed). */
  readonly run: (client: Redis, a: Args, call: CallContext) => Promise<Record<string, unknown>>;
}

type Args = Record<string, unknown> & { key: string };

/** What a command may use besides its arguments: the list cap, and the call's idempotency key (stable across its attempts). */
export interface CallContext {
  readonly maxItems: number;
  readonly idempotencyKey: string;
}

/** Compare-and-delete: releases a lock only when it still holds the token its acquirer got. */
const RELEASE_LOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/**
 * Takes the lock for `token`, or confirms it already holds it (an earlier attempt of the same call
 * took it and its answer was lost) and renews its expiry: an attempt run again never finds itself
 * locked out by its own lock.
 */
const TAKE_LOCK =
  "local held = redis.call('get', KEYS[1]) if held == false then redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 elseif held == ARGV[1] then redis.call('pexpire', KEYS[1], ARGV[2]) return 1 else return 0 end";

export const COMMANDS: Readonly<Record<string, CommandSpec>> = {
  get: { required: { key: 'key' }, run: async (c, a) => ({ value: await c.get(a.key) }) },
  set: {
    required: { key: 'key', value: 'value' },
    optional: { ttl_ms: 'ttl' },
    run: async (c, a) => ({ ok: (a['ttl_ms'] === undefined ? await c.set(a.key, a['value'] as string) : await c.set(a.key, a['value'] as string, 'PX', a['ttl_ms'] as number)) === 'OK' }),
  },
  del: { required: { key: 'key' }, run: async (c, a) => ({ deleted: await c.del(a.key) }) },
  incr: { required: { key: 'key' }, run: async (c, a) => ({ value: await c.incr(a.key) }) },
  incrby: { required: { key: 'key', by: 'integer' }, run: async (c, a) => ({ value: await c.incrby(a.key, a['by'] as number) }) },
  expire: { required: { key: 'key', ttl_ms: 'ttl' }, run: async (c, a) => ({ applied: (await c.pexpire(a.key, a['ttl_ms'] as number)) === 1 }) },
  hget: { required: { key: 'key', field: 'value' }, run: async (c, a) => ({ value: await c.hget(a.key, a['field'] as string) }) },
  hset: { required: { key: 'key', fields: 'fields' }, run: async (c, a) => ({ added: await c.hset(a.key, a['fields'] as Record<string, string>) }) },
  hgetall: { required: { key: 'key' }, run: async (c, a) => ({ fields: await c.hgetall(a.key) }) },
  lpush: { required: { key: 'key', values: 'values' }, run: async (c, a) => ({ length: await c.lpush(a.key, ...(a['values'] as string[])) }) },
  rpush: { required: { key: 'key', values: 'values' }, run: async (c, a) => ({ length: await c.rpush(a.key, ...(a['values'] as string[])) }) },
  lrange: {
    required: { key: 'key' },
    optional: { start: 'integer', stop: 'integer' },
    run: async (c, a, call) => {
      const start = (a['start'] as number | undefined) ?? 0;
      const stop = (a['stop'] as number | undefined) ?? -1;
      // Ask for one past the cap at most, so a long list is never read whole.
      const capped = start >= 0 && (stop < 0 || stop - start + 1 > call.maxItems) ? start + call.maxItems : stop;
      const values = await c.lrange(a.key, start, capped);
      return values.length > call.maxItems ? { values: values.slice(0, call.maxItems), truncated: true } : { values };
    },
  },
  publish: { required: { channel: 'channel', message: 'value' }, run: async (c, a) => ({ receivers: await c.publish(a['channel'] as string, a['message'] as string) }) },
  lock: {
    required: { key: 'key', ttl_ms: 'ttl' },
    run: async (c, a, call) => {
      // The same for every attempt of this call (and after a resume), different for every other call.
      const token = createHash('sha256').update(`${call.idempotencyKey}\u0000${a.key}`).digest('hex').slice(0, 32);
      const acquired = (await c.eval(TAKE_LOCK, 1, a.key, token, a['ttl_ms'] as number)) === 1;
      return acquired ? { acquired, token } : { acquired };
    },
  },
  unlock: { required: { key: 'key', token: 'token' }, run: async (c, a) => ({ released: (await c.eval(RELEASE_LOCK, 1, a.key, a['token'] as string)) === 1 }) },
};

export const COMMAND_NAMES = Object.keys(COMMANDS);

/** The command's spec; only own entries (`toString` or `__proto__` is no command). */
function specOf(command: string): CommandSpec | undefined {
  return Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
}

function argsOf(spec: CommandSpec): Record<string, ArgKind> {
  return { ...spec.required, ...spec.optional };
}

/** Load-time check of a phase's request: a literal command of the subset, exactly its arguments. */
export function checkRedisTemplate(template: unknown): RequestIssue[] {
  if (typeof template !== 'object' || template === null || Array.isArray(template)) {
    return [{ path: [], message: `a redis request is { command: <${listNames(COMMAND_NAMES)}>, key: …, … }, written out in the flow file` }];
  }
  const { command, ...rest } = template as Record<string, unknown>;
  if (typeof command !== 'string' || command.includes('{%')) {
    return [{ path: ['command'], message: `command must be one of ${listNames(COMMAND_NAMES)}, written out (not an expression): commands are never chosen from input` }];
  }
  const spec = specOf(command);
  if (spec === undefined) return [{ path: ['command'], message: `"${command}" is not in the redis adapter's command subset${didYouMean(command, COMMAND_NAMES)}; allowed: ${listNames(COMMAND_NAMES)}` }];
  const issues: RequestIssue[] = [];
  const known = Object.keys(argsOf(spec));
  for (const name of Object.keys(spec.required)) if (!(name in rest)) issues.push({ path: [], message: `command "${command}" needs "${name}"` });
  for (const name of Object.keys(rest)) if (!known.includes(name)) issues.push({ path: [name], message: `command "${command}" takes no "${name}"${didYouMean(name, known)}; it takes ${listNames(known)}` });
  return issues;
}

/** The evaluated request checked and converted: values as strings, keys prefixed; a bad value is a terminal REDIS_BAD_ARGUMENT. */
export function bindArgs(request: unknown, prefix: string): { command: string; spec: CommandSpec; args: Args } {
  if (typeof request !== 'object' || request === null || Array.isArray(request)) throw bad('the request must be an object');
  const { command: given, ...rest } = request as Record<string, unknown>;
  const command = typeof given === 'string' ? given : JSON.stringify(given);
  const spec = specOf(command);
  if (spec === undefined) throw bad(`"${command}" is not in the command subset`);
  const kinds = argsOf(spec);
  const args: Record<string, unknown> = {};
  for (const [name, kind] of Object.entries(kinds)) {
    const value = rest[name];
    if (value === undefined || value === null) {
      if (Object.hasOwn(spec.required, name)) throw bad(`"${name}" of ${command} is missing (null or undefined)`);
      continue;
    }
    args[name] = convert(name, kind, value, prefix);
  }
  for (const name of Object.keys(rest)) if (!Object.hasOwn(kinds, name)) throw bad(`${command} takes no "${name}"`);
  return { command, spec, args: args as Args };
}

function convert(name: string, kind: ArgKind, value: unknown, prefix: string): unknown {
  switch (kind) {
    case 'key':
      if (typeof value !== 'string' && typeof value !== 'number') throw bad(`"${name}" must be a string or number`);
      if (String(value) === '') throw bad(`"${name}" is empty`);
      return prefix + String(value);
    case 'channel':
    case 'token':
      if (typeof value !== 'string' || value === '') throw bad(`"${name}" must be a non-empty string`);
      return value;
    case 'value':
      return scalar(value);
    case 'integer':
      if (!Number.isSafeInteger(value)) throw bad(`"${name}" must be an integer`);
      return value;
    case 'ttl':
      if (!Number.isSafeInteger(value) || (value as number) < 1) throw bad(`"${name}" must be a positive integer (milliseconds)`);
      return value;
    case 'values':
      if (!Array.isArray(value) || value.length === 0 || value.length > 10_000) throw bad(`"${name}" must be a list of 1 to 10000 values`);
      return value.map(scalar);
    case 'fields':
      if (typeof value !== 'object' || Array.isArray(value) || Object.keys(value as object).length === 0) throw bad(`"${name}" must be a non-empty object of field: value`);
      return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([field, v]) => [field, scalar(v)]));
  }
}

/** Strings as they are, numbers and booleans as text, objects and arrays as JSON text. */
function scalar(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null || value === undefined) return '';
  return JSON.stringify(value);
}

function bad(message: string): TerminalError {
  return new TerminalError(message, { reason: 'REDIS_BAD_ARGUMENT' });
}
