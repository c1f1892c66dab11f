import { describe, expect, it } from 'vitest';
import { MAX_TIMER_MS, refreshTimerPlan } from '../../src/adapters/matrix/session-manager.js';

/** Node's setTimeout limit is 2^31-1 ms; a larger delay fires after 1 ms. */
const NODE_TIMER_LIMIT = 2 ** 31 - 1;
const DAY = 24 * 60 * 60 * 1000;

describe('refreshTimerPlan', () => {
  const now = 1_700_000_000_000;

  it('never plans a timer beyond the Node timer limit, and steps closer for a 40-day token', () => {
    const plan = refreshTimerPlan(now + 40 * DAY, now);
    expect(plan).toEqual({ delayMs: MAX_TIMER_MS, due: false });
    expect(plan.delayMs).toBeLessThanOrEqual(NODE_TIMER_LIMIT);
  });

  it('walks a long lifetime down in steps until the refresh is due, a minute before expiry', () => {
    const expiresAt = now + 40 * DAY;
    let clock = now;
    let steps = 0;
    let plan = refreshTimerPlan(expiresAt, clock);
    while (!plan.due && steps < 100) {
      clock += plan.delayMs;
      steps += 1;
      plan = refreshTimerPlan(expiresAt, clock);
    }
    expect(plan.due).toBe(true);
    expect(steps).toBe(39);
    expect(clock + plan.delayMs).toBe(expiresAt - 60_000);
  });

  it('refreshes a short token at four fifths of its lifetime, and an expired one at once', () => {
    expect(refreshTimerPlan(now + 1_500, now)).toEqual({ delayMs: 1_200, due: true });
    expect(refreshTimerPlan(now + 2 * 60 * 60 * 1000, now)).toEqual({
      delayMs: 2 * 60 * 60 * 1000 - 60_000,
      due: true,
    });
    expect(refreshTimerPlan(now - 5, now)).toEqual({ delayMs: 0, due: true });
  });
});
