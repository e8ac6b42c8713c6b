/** roundTripCheck: a readiness round trip still unanswered is shared, each check bounded by its timeout. */
import { describe, expect, it } from 'vitest';
import { roundTripCheck } from '../../../src/adapters/messaging.js';

describe('roundTripCheck', () => {
  it('shares an unanswered round trip instead of sending another, and times each check out', async () => {
    let sent = 0;
    let answer: (() => void) | undefined;
    const check = roundTripCheck(() => {
      sent += 1;
      return new Promise<void>((resolve) => (answer = resolve));
    }, 20);
    await expect(check()).rejects.toThrow(/did not answer within 20 ms/);
    await expect(check()).rejects.toThrow(/did not answer within 20 ms/);
    expect(sent).toBe(1);
    const waiting = check();
    answer!();
    await expect(waiting).resolves.toBeUndefined();
    // Answered: the next check sends a new round trip.
    const next = check();
    answer!();
    await next;
    expect(sent).toBe(2);
  });

  it('fails with the round trip\'s error, and sends anew after it', async () => {
    let sent = 0;
    const check = roundTripCheck(async () => {
      sent += 1;
      throw new Error('refused');
    }, 1000);
    await expect(check()).rejects.toThrow('refused');
    await expect(check()).rejects.toThrow('refused');
    expect(sent).toBe(2);
  });
});
