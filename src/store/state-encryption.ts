import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ConfigurationError } from '../errors.js';
import type { ExecutionStore, JournalRow } from './execution-store.js';

const ALGORITHM = 'aes-256-gcm';
const PREFIX = 'enc:v1:';

/**
 * The raw values a resumed or retried run needs (a row's `state`: inputs and phase outputs as the
 * flow saw them, sensitive fields included) are encrypted at rest with AES-256-GCM under
 * STATE_ENCRYPTION_KEY; what is shown (`data`) is already cleaned. The key never reaches the
 * store. Rows written before the key was set (or under another one) are refused on read with a
 * clear error rather than returned as garbage.
 */
export class StateCipher {
  readonly #key: Buffer;

  constructor(keyBase64: string) {
    const key = Buffer.from(keyBase64, 'base64');
    if (key.length !== 32) {
      throw new ConfigurationError([
        { file: 'environment', path: 'STATE_ENCRYPTION_KEY', message: `must be 32 random bytes in base64 (found ${key.length} bytes); make one with: openssl rand -base64 32` },
      ]);
    }
    this.#key = key;
  }

  seal(text: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv(ALGORITHM, this.#key, iv);
    const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
    return `${PREFIX}${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
  }

  open(sealed: string): string {
    if (!sealed.startsWith(PREFIX)) throw new Error('a stored execution state is not encrypted (written before STATE_ENCRYPTION_KEY was set)');
    const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64');
    const decipher = createDecipheriv(ALGORITHM, this.#key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  }
}

/**
 * The store, with every row's `state`, and every signal's payload (it may carry what a callback
 * or a caller sent), sealed on the way in and opened on the way out.
 */
export function withStateEncryption(store: ExecutionStore, cipher: StateCipher): ExecutionStore {
  const seal = (rows: readonly JournalRow[]): JournalRow[] => rows.map((row) => (row.state === null ? row : { ...row, state: cipher.seal(row.state) }));
  const open = (rows: readonly JournalRow[]): JournalRow[] => rows.map((row) => (row.state === null ? row : { ...row, state: cipher.open(row.state) }));
  return {
    kind: store.kind,
    durable: store.durable,
    now: () => store.now(),
    create: (execution) => store.create({ ...execution, rows: seal(execution.rows) }),
    append: (lease, rows, leaseMs) => store.append(lease, seal(rows), leaseMs),
    finish: (lease, rows, summary, options) => store.finish(lease, seal(rows), summary, options),
    suspend: (lease, rows, suspension) => store.suspend(lease, seal(rows), suspension),
    signals: {
      deliver: (signal) => store.signals.deliver({ ...signal, payload: cipher.seal(signal.payload) }),
      take: async (lease, name, waitKey) => {
        const taken = await store.signals.take(lease, name, waitKey);
        return taken === undefined ? undefined : { ...taken, payload: cipher.open(taken.payload) };
      },
      registerCallback: (lease, registration) => store.signals.registerCallback(lease, registration),
      findCallback: (tokenHash) => store.signals.findCallback(tokenHash),
      useCallback: (tokenHash, payload) => store.signals.useCallback(tokenHash, cipher.seal(payload)),
    },
    countWaiting: () => store.countWaiting(),
    save: (execution) => store.save({ ...execution, rows: seal(execution.rows) }),
    get: async (executionId, options) => {
      const stored = await store.get(executionId, options);
      return stored === undefined ? undefined : { ...stored, rows: open(stored.rows) };
    },
    list: (query) => store.list(query),
    claim: async (request) => (await store.claim(request)).map((claimed) => ({ ...claimed, rows: open(claimed.rows) })),
    heartbeat: (owner, leases, leaseMs) => store.heartbeat(owner, leases, leaseMs),
    release: (leases) => store.release(leases),
    cancel: (executionId, rows, summary) => store.cancel(executionId, seal(rows), summary),
    countQueued: (tenant) => store.countQueued(tenant),
    findIdempotencyKey: (key) => store.findIdempotencyKey(key),
    countWaitingOf: (tenant) => store.countWaitingOf(tenant),
    findSucceeded: async (query) => {
      const found = await store.findSucceeded(query);
      return found === undefined ? undefined : { ...found, finished: open([found.finished])[0]! };
    },
    purge: (olderThanMs, batchSize) => store.purge(olderThanMs, batchSize),
    pendingElsewhere: (flows) => store.pendingElsewhere(flows),
    close: () => store.close(),
  };
}
