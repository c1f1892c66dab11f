import { describe, expect, it } from 'vitest';
import {
  MAX_TRAFFIC_DIRECTIONS,
  TRAFFIC_BUCKET_MS,
  TRAFFIC_WINDOW_MS,
  TrafficCounter,
} from '../../src/core/traffic.js';

/** A clock the test moves by hand. */
function clock(startMs = Date.UTC(2026, 0, 1, 12, 0, 0)) {
  let now = startMs;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('TrafficCounter', () => {
  it('counts per direction, busiest first', () => {
    const c = clock();
    const traffic = new TrafficCounter({ now: c.now });
    traffic.record('irc.a', 'irc.b');
    traffic.record('irc.a', 'irc.b');
    traffic.record('irc.b', 'irc.a');
    traffic.record('irc.a', 'kosmi.main', 5);
    expect(traffic.lastHour()).toEqual([
      { from: 'irc.a', to: 'kosmi.main', messages: 5 },
      { from: 'irc.a', to: 'irc.b', messages: 2 },
      { from: 'irc.b', to: 'irc.a', messages: 1 },
    ]);
  });

  it('slides by whole minutes: a message leaves the window 60 minutes after its minute began', () => {
    const c = clock(Date.UTC(2026, 0, 1, 12, 0, 30)); // half a minute into a bucket
    const traffic = new TrafficCounter({ now: c.now });
    traffic.record('irc.a', 'irc.b');
    c.advance(10 * TRAFFIC_BUCKET_MS);
    traffic.record('irc.a', 'irc.b', 2);
    c.advance(TRAFFIC_WINDOW_MS - 10 * TRAFFIC_BUCKET_MS - 31_000); // 11:59:59 after the first
    expect(traffic.lastHour()).toEqual([{ from: 'irc.a', to: 'irc.b', messages: 3 }]);
    c.advance(1_000); // the first message's minute is now 60 minutes ago
    expect(traffic.lastHour()).toEqual([{ from: 'irc.a', to: 'irc.b', messages: 2 }]);
    c.advance(10 * TRAFFIC_BUCKET_MS);
    expect(traffic.lastHour()).toEqual([]);
  });

  it('reuses a ring slot after an hour instead of adding to the old count', () => {
    const c = clock();
    const traffic = new TrafficCounter({ now: c.now });
    traffic.record('irc.a', 'irc.b', 7);
    c.advance(TRAFFIC_WINDOW_MS); // same slot, next hour
    traffic.record('irc.a', 'irc.b');
    expect(traffic.lastHour()).toEqual([{ from: 'irc.a', to: 'irc.b', messages: 1 }]);
  });

  it('survives a long silence and a clock that jumps back', () => {
    const c = clock();
    const traffic = new TrafficCounter({ now: c.now });
    traffic.record('irc.a', 'irc.b');
    c.advance(30 * 24 * TRAFFIC_WINDOW_MS);
    expect(traffic.lastHour()).toEqual([]);
    traffic.record('irc.a', 'irc.b');
    c.advance(-5 * TRAFFIC_BUCKET_MS);
    // A count from "the future" is not in the window; it is not lost either once time catches up.
    expect(traffic.lastHour()).toEqual([]);
    c.advance(5 * TRAFFIC_BUCKET_MS);
    expect(traffic.lastHour()).toEqual([{ from: 'irc.a', to: 'irc.b', messages: 1 }]);
  });

  it('keeps memory bounded: directions past the cap are not counted, empty ones are forgotten', () => {
    const c = clock();
    const traffic = new TrafficCounter({ now: c.now });
    for (let i = 0; i < MAX_TRAFFIC_DIRECTIONS + 50; i++) traffic.record(`irc.n${i}`, 'irc.b');
    expect(traffic.lastHour()).toHaveLength(MAX_TRAFFIC_DIRECTIONS);
    c.advance(TRAFFIC_WINDOW_MS);
    expect(traffic.lastHour()).toEqual([]);
    traffic.record('irc.late', 'irc.b'); // room again once the old directions were forgotten
    expect(traffic.lastHour()).toEqual([{ from: 'irc.late', to: 'irc.b', messages: 1 }]);
  });
});
