/**
 * The engine's Cancellation (src/engine/cancellation.ts): a real AbortSignal only when something
 * asks for one, and no abort lost whichever comes first — the abort or the signal, the abort or a
 * subscriber — nor through the engine (deadline, cancel, caller signal) when nobody read a signal.
 */
import { getEventListeners } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { Canceller, SignalCancellation } from '../../src/engine/cancellation.js';
import { withTimeout } from '../../src/engine/phases/call-attempt.js';
import type { ComponentAdapter } from '../../src/adapters/types.js';
import { buildEngine } from '../../src/library.js';
import { z } from 'zod';

describe('Canceller', () => {
  it('a signal made before the abort aborts with it, with the same reason', () => {
    const canceller = new Canceller();
    const signal = canceller.signal;
    const heard = vi.fn();
    signal.addEventListener('abort', heard);
    const reason = new Error('stop');
    canceller.abort(reason);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe(reason);
    expect(heard).toHaveBeenCalledTimes(1);
    expect(canceller.signal).toBe(signal);
  });

  it('a signal first asked for after the abort is already aborted, with the same reason', () => {
    const canceller = new Canceller();
    const reason = new Error('stop');
    canceller.abort(reason);
    expect(canceller.aborted).toBe(true);
    expect(canceller.reason).toBe(reason);
    expect(canceller.signal.aborted).toBe(true);
    expect(canceller.signal.reason).toBe(reason);
  });

  it('the first reason wins; later aborts change nothing and notify nobody again', () => {
    const canceller = new Canceller();
    const heard = vi.fn();
    canceller.onAbort(heard);
    canceller.abort('first');
    canceller.abort('second');
    expect(canceller.reason).toBe('first');
    expect(canceller.signal.reason).toBe('first');
    expect(heard).toHaveBeenCalledTimes(1);
    expect(heard).toHaveBeenCalledWith('first');
  });

  it('onAbort: subscribers hear the abort once, in order; one subscribing after it hears it at once; unsubscribed ones never', () => {
    const canceller = new Canceller();
    const heard: string[] = [];
    canceller.onAbort((reason) => heard.push(`a:${String(reason)}`));
    const detach = canceller.onAbort(() => heard.push('b'));
    canceller.onAbort((reason) => heard.push(`c:${String(reason)}`));
    detach();
    canceller.abort('why');
    canceller.onAbort((reason) => heard.push(`late:${String(reason)}`));
    expect(heard).toEqual(['a:why', 'c:why', 'late:why']);
  });

  it('a throwing subscriber stops neither the others nor the abort (its error is reported as uncaught)', async () => {
    const canceller = new Canceller();
    const after = vi.fn();
    const uncaught = new Promise<unknown>((resolve) => {
      const listeners = process.listeners('uncaughtException');
      process.removeAllListeners('uncaughtException');
      process.once('uncaughtException', (error) => {
        for (const listener of listeners) process.on('uncaughtException', listener);
        resolve(error);
      });
    });
    canceller.onAbort(() => {
      throw new Error('subscriber failed');
    });
    canceller.onAbort(after);
    canceller.abort('why');
    expect(after).toHaveBeenCalledWith('why');
    expect(canceller.signal.aborted).toBe(true);
    expect(((await uncaught) as Error).message).toBe('subscriber failed');
  });

  it('following: a child aborts with its parent (also one that already had), and can abort alone', () => {
    const parent = new Canceller();
    const { canceller: child, dispose } = Canceller.following(parent);
    const { canceller: other } = Canceller.following(parent);
    other.abort('own reason');
    expect(parent.aborted).toBe(false);
    parent.abort('parent reason');
    expect(child.reason).toBe('parent reason');
    expect(other.reason).toBe('own reason');
    dispose();

    const { canceller: late } = Canceller.following(parent);
    expect(late.aborted).toBe(true);
    expect(late.signal.reason).toBe('parent reason');
  });

  it('following: once disposed, the child no longer follows its parent', () => {
    const parent = new Canceller();
    const { canceller: child, dispose } = Canceller.following(parent);
    dispose();
    parent.abort('why');
    expect(child.aborted).toBe(false);
  });
});

describe('SignalCancellation', () => {
  it('reads a real signal, and unsubscribing removes its listener', () => {
    const controller = new AbortController();
    const cancellation = new SignalCancellation(controller.signal);
    expect(cancellation.signal).toBe(controller.signal);
    expect(cancellation.reason).toBeUndefined();
    const heard = vi.fn();
    const detach = cancellation.onAbort(heard);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    detach();
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    cancellation.onAbort(heard);
    controller.abort('why');
    expect(cancellation.aborted).toBe(true);
    expect(cancellation.reason).toBe('why');
    expect(heard).toHaveBeenCalledWith('why');
    const late = vi.fn();
    cancellation.onAbort(late);
    expect(late).toHaveBeenCalledWith('why');
  });
});

describe('withTimeout', () => {
  it('aborts after its time with a TimeoutError naming the phase, or with its parent', async () => {
    vi.useFakeTimers();
    try {
      const parent = new Canceller();
      const timed = withTimeout(parent, 50, 'p', 'attempt');
      await vi.advanceTimersByTimeAsync(50);
      expect(timed.cancellation.signal.aborted).toBe(true);
      expect((timed.cancellation.reason as Error).message).toBe('phase "p": call timed out after 50 ms');
      timed.dispose();

      const followed = withTimeout(parent, 50, 'p');
      const signal = followed.cancellation.signal;
      parent.abort('parent reason');
      expect(signal.reason).toBe('parent reason');
      followed.dispose();
    } finally {
      vi.useRealTimers();
    }
  });
});

/** An adapter that waits for its signal (or resolves when told), and says whether it read it. */
function waitingAdapter(): { adapter: ComponentAdapter<Record<string, never>>; started: Promise<void> } {
  let started!: () => void;
  const startedPromise = new Promise<void>((resolve) => (started = resolve));
  const adapter: ComponentAdapter<Record<string, never>> = {
    kind: 'waits',
    configSchema: z.strictObject({}),
    create: () => ({
      execute: (_request, ctx) =>
        new Promise((_resolve, reject) => {
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error), { once: true });
          started();
        }),
    }),
  };
  return { adapter, started: startedPromise };
}

describe('the engine without eager signals', () => {
  it('a cancel() before anything read a signal still stops the next phase', async () => {
    const { engine } = await buildEngine({
      flows: [{ name: 'f', phases: [{ id: 'a', component: 'transform', request: 1 }, { id: 'b', component: 'transform', request: 2 }] }],
      middleware: [
        {
          name: 'cancel-after-a',
          onPhaseEnd: (ctx) => void (ctx.phase.id === 'a' && engine.cancel(ctx.execution.executionId)),
        },
      ],
    });
    const record = await engine.execute('f', {});
    expect(record.status).toBe('cancelled');
    expect(record.phases.map((p) => p.id)).toEqual(['a']);
    await engine.close();
  });

  it('an adapter that reads ctx.signal hears the flow deadline and the caller aborting', async () => {
    const deadline = waitingAdapter();
    const { engine } = await buildEngine({
      adapters: [deadline.adapter as ComponentAdapter<never>],
      flows: [{ name: 'f', timeout_ms: 50, components: { w: { adapter: 'waits', retry_policy: { max_attempts: 1 } } }, phases: [{ id: 'wait', component: 'w', timeout_ms: 10_000 }] }],
    });
    const timedOut = await engine.execute('f', {});
    expect(timedOut.status).toBe('timed_out');
    expect(timedOut.error?.code).toBe('FLOWD_ERR_FLOW_TIMEOUT');

    const caller = new AbortController();
    const running = engine.execute('f', {}, { signal: caller.signal, timeoutMs: 10_000 });
    await deadline.started;
    caller.abort();
    const cancelled = await running;
    expect(cancelled.status).toBe('cancelled');
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
    await engine.close();
  });
});
