import { describe, expect, it } from 'vitest';
import { Backoff, sleep } from '../../src/core/backoff.js';

describe('Backoff', () => {
  it('grows exponentially with jitter and stays under the cap', () => {
    const low = new Backoff({ initialMs: 100, maxMs: 1_000, stableAfterMs: 10_000, random: () => 0 });
    expect([low.next(), low.next(), low.next(), low.next(), low.next()]).toEqual([50, 100, 200, 400, 500]);
    const high = new Backoff({ initialMs: 100, maxMs: 1_000, stableAfterMs: 10_000, random: () => 1 });
    expect([high.next(), high.next(), high.next(), high.next(), high.next()]).toEqual([
      100, 200, 400, 800, 1000,
    ]);
  });

  it('resets after a stable connection but not after a short one', () => {
    const backoff = new Backoff({ initialMs: 100, maxMs: 1_000, stableAfterMs: 1_000, random: () => 1 });
    backoff.next();
    backoff.next();
    backoff.connected(0);
    backoff.disconnected(500);
    expect(backoff.next()).toBe(400);
    backoff.connected(1_000);
    backoff.disconnected(2_500);
    expect(backoff.next()).toBe(100);
  });

  it('sleep rejects when aborted and leaves no timer behind', async () => {
    const controller = new AbortController();
    const pending = sleep(60_000, controller.signal);
    controller.abort(new Error('stop'));
    await expect(pending).rejects.toThrow('stop');
  });
});
