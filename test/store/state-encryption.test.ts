/**
 * STATE_ENCRYPTION_KEY: the raw values kept to resume or retry an execution (rows' `state`) are
 * AES-256-GCM encrypted at rest; what is shown (`data`) was cleaned already. Read back through the
 * wrapped store they are the originals; at rest they are not; a wrong key does not read them.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../src/errors.js';
import { createStore } from '../../src/store/create-store.js';
import { StateCipher, withStateEncryption } from '../../src/store/state-encryption.js';
import { SqliteExecutionStore } from '../../src/store/sqlite-store.js';
import { finishedRow, newExecution, nextId, row, running, startedRow } from './store-fixtures.js';

const SECRET_INPUT = { password: 'hunter2-at-rest-9931', card: '4111 1111 1111 1111' };

describe('state encryption at rest', () => {
  let dir: string;
  let plain: SqliteExecutionStore;
  const key = randomBytes(32).toString('base64');
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'flowd-state-'));
    plain = SqliteExecutionStore.open({ path: path.join(dir, 'flowd.db') });
  });
  afterAll(async () => {
    await plain.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('stores state sealed, reads it back as it was, and keeps data as shown', async () => {
    const store = withStateEncryption(plain, new StateCipher(key));
    const executionId = nextId();
    await store.create(newExecution({ executionId, rows: [startedRow(executionId, SECRET_INPUT)] }));

    const atRest = await plain.get(executionId, { withState: true });
    expect(atRest!.rows[0]!.state).toMatch(/^enc:v1:/);
    expect(JSON.stringify(atRest)).not.toContain('hunter2-at-rest-9931');
    expect(JSON.stringify(atRest)).not.toContain('4111');

    const readBack = await store.get(executionId, { withState: true });
    expect(JSON.parse(readBack!.rows[0]!.state!)).toEqual({ input: SECRET_INPUT });
    expect(readBack!.rows[0]!.data).toBe(atRest!.rows[0]!.data);
    const [claimed] = await store.claim({ owner: 'w', flows: [{ name: 'alpha', hash: 'h1' }], limit: 1, leaseMs: 60_000 });
    expect(JSON.parse(claimed!.rows[0]!.state!)).toEqual({ input: SECRET_INPUT });
  });

  it('seals what findSucceeded returns too, and opens it', async () => {
    const store = withStateEncryption(plain, new StateCipher(key));
    const executionId = nextId();
    await store.save({
      executionId,
      flow: 'verify',
      version: '1',
      flowHash: 'hv',
      tenant: 'local',
      summary: { status: 'succeeded' },
      rows: [startedRow(executionId), row(1, 'run_started', { run: 1 }), finishedRow(2, 'succeeded', { token: 'at-rest-output-77' })],
    });
    expect(JSON.stringify(await plain.get(executionId, { withState: true }))).not.toContain('at-rest-output-77');
    const found = await store.findSucceeded({ flow: 'verify', correlationKey: undefined, tenant: 'local', withinMs: 60_000 });
    expect(JSON.parse(found!.finished.state!)).toEqual({ output: { token: 'at-rest-output-77' } });
  });

  it('stores signal payloads (delivered, and sent to a callback) sealed, and a wait takes them open', async () => {
    const store = withStateEncryption(plain, new StateCipher(key));
    const lease = await running(store, { flow: 'sealed-signals' });
    await store.signals.deliver({ executionId: lease.executionId, name: 'card', payload: '{"card":"4111-signal-5522"}' });
    await store.signals.registerCallback(lease, { tokenHash: 'sealed-hash', executionId: lease.executionId, waitKey: 'cb', signal: 'callback:cb', expiresAt: (await store.now()) + 60_000 });
    expect(await store.signals.useCallback('sealed-hash', '{"secret":"callback-at-rest-31"}')).toEqual({ kind: 'delivered', executionId: lease.executionId });

    const atRest = plain.db.prepare(`SELECT payload FROM flowd_signals WHERE execution_id = ? ORDER BY id`).all(lease.executionId) as { payload: string }[];
    expect(atRest).toHaveLength(2);
    for (const { payload } of atRest) expect(payload).toMatch(/^enc:v1:/);
    expect(JSON.stringify(atRest)).not.toContain('4111-signal-5522');
    expect(JSON.stringify(atRest)).not.toContain('callback-at-rest-31');

    expect(await store.signals.take(lease, 'card', 'w-card')).toMatchObject({ name: 'card', payload: '{"card":"4111-signal-5522"}' });
    expect(await store.signals.take(lease, 'callback:cb', 'cb')).toMatchObject({ payload: '{"secret":"callback-at-rest-31"}' });
  });

  it('another key cannot read it: an error, never garbage', async () => {
    const executionId = nextId();
    await withStateEncryption(plain, new StateCipher(key)).create(newExecution({ executionId, rows: [startedRow(executionId, SECRET_INPUT)] }));
    const other = withStateEncryption(plain, new StateCipher(randomBytes(32).toString('base64')));
    await expect(other.get(executionId, { withState: true })).rejects.toThrow();
  });

  it('a key that is not 32 bytes refuses to start, saying how to make one', async () => {
    await expect(
      createStore({ STORE: 'memory', DATA_DIR: dir, DATABASE_SCHEMA: 'public', DATABASE_POOL_MAX: 1, DATABASE_WRITE_BATCHES: 1, SQLITE_SYNCHRONOUS: 'normal', EXECUTIONS_MAX: 10, STATE_ENCRYPTION_KEY: 'c2hvcnQ=' }),
    ).rejects.toThrow(ConfigurationError);
    await expect(
      createStore({ STORE: 'memory', DATA_DIR: dir, DATABASE_SCHEMA: 'public', DATABASE_POOL_MAX: 1, DATABASE_WRITE_BATCHES: 1, SQLITE_SYNCHRONOUS: 'normal', EXECUTIONS_MAX: 10, STATE_ENCRYPTION_KEY: 'c2hvcnQ=' }),
    ).rejects.toThrow(/openssl rand -base64 32/);
  });
});
