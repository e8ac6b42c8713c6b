/**
 * Custom adapters classify their own failures (RetryableError / TerminalError, or any error
 * carrying the shared brand): the retry policy, retry_on and the breaker read the classification,
 * never `instanceof` — so an adapter built against another copy of flowd is treated the same.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { FAILURE_BRAND, RetryableError, TerminalError, failureOf } from '../../../src/adapters/failures.js';
import type { ComponentAdapter } from '../../../src/adapters/types.js';
import { engineWith, phase } from './helpers.js';

function scripted(errors: (() => unknown)[]): { adapter: ComponentAdapter<never>; calls: () => number } {
  let calls = 0;
  const adapter: ComponentAdapter<Record<string, never>> = {
    kind: 'scripted',
    configSchema: z.strictObject({}),
    create: () => ({
      execute: async () => {
        const make = errors[calls];
        calls += 1;
        if (make === undefined) return { ok: true };
        throw make();
      },
    }),
  };
  return { adapter: adapter as ComponentAdapter<never>, calls: () => calls };
}

function flow(phaseExtra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'f',
    defaults: { retry_policy: { initial_delay_ms: 1, max_delay_ms: 1 } },
    components: { c: { adapter: 'scripted' } },
    phases: [{ id: 'p', component: 'c', ...phaseExtra }],
  };
}

describe('adapter failure classification', () => {
  it('retries a RetryableError from a custom adapter, then succeeds', async () => {
    const { adapter, calls } = scripted([() => new RetryableError('deadlock detected', { reason: 'SQL_SERIALIZATION_FAILURE' }), () => new RetryableError('again')]);
    const engine = await engineWith([flow()], { adapters: [adapter] });

    const record = await engine.execute('f', {});

    expect(record.status).toBe('succeeded');
    expect(calls()).toBe(3);
    expect(phase(record, 'p').attempts).toBe(3);
  });

  it('never retries a TerminalError, and reports the adapter reason and status', async () => {
    const { adapter, calls } = scripted([() => new TerminalError('duplicate key', { reason: 'SQL_UNIQUE_VIOLATION', status: 409 })]);
    const engine = await engineWith([flow()], { adapters: [adapter] });

    const record = await engine.execute('f', {});

    expect(record.status).toBe('failed');
    expect(calls()).toBe(1);
    expect(record.error).toMatchObject({ code: 'FLOWD_ERR_COMPONENT_FAILED', message: 'duplicate key', reason: 'SQL_UNIQUE_VIOLATION', status: 409 });
  });

  it('reads the brand, not the class: a plain error carrying Symbol.for("flowd.failure") is retried', async () => {
    const foreign = (): Error =>
      Object.assign(new Error('broker busy'), { [Symbol.for('flowd.failure')]: { retryable: true, category: 'transient', reason: 'BROKER_BUSY' } });
    expect(failureOf(foreign())?.retryable).toBe(true);
    const { adapter, calls } = scripted([foreign]);
    const engine = await engineWith([flow()], { adapters: [adapter] });

    const record = await engine.execute('f', {});

    expect(record.status).toBe('succeeded');
    expect(calls()).toBe(2);
  });

  it('retry_on selects by category: without "transient" a transient failure is not retried, a network one is', async () => {
    const transient = scripted([() => new RetryableError('conflict')]);
    const narrow = await engineWith([flow({ retry_policy: { retry_on: ['network'] } })], { adapters: [transient.adapter] });
    expect((await narrow.execute('f', {})).status).toBe('failed');
    expect(transient.calls()).toBe(1);

    const network = scripted([() => new RetryableError('connection reset', { category: 'network' })]);
    const same = await engineWith([flow({ retry_policy: { retry_on: ['network'] } })], { adapters: [network.adapter] });
    expect((await same.execute('f', {})).status).toBe('succeeded');
    expect(network.calls()).toBe(2);
  });

  it('an unbranded error from an adapter is an internal error and is not retried', async () => {
    const { adapter, calls } = scripted([() => new Error('bug in the adapter')]);
    const engine = await engineWith([flow()], { adapters: [adapter] });

    const record = await engine.execute('f', {});

    expect(calls()).toBe(1);
    expect(record.error?.code).toBe('FLOWD_ERR_INTERNAL');
  });

  it('a malformed brand is ignored rather than trusted', () => {
    expect(failureOf({ [FAILURE_BRAND]: { retryable: 'yes' } })).toBeUndefined();
    expect(failureOf({ [FAILURE_BRAND]: { retryable: true, category: 'sometimes' } })?.retryable).toBe(false);
  });
});
