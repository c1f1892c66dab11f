/** The window the status page reports traffic over. */
export const TRAFFIC_WINDOW_MS = 3_600_000;
/** Counts are kept per minute: the window slides by whole minutes. */
export const TRAFFIC_BUCKET_MS = 60_000;
const BUCKETS = TRAFFIC_WINDOW_MS / TRAFFIC_BUCKET_MS;
/**
 * Directions come from the configured accounts, so there are few; the cap only guarantees bounded
 * memory if a caller ever records names from elsewhere. Past it, new directions are not counted.
 */
export const MAX_TRAFFIC_DIRECTIONS = 1_000;

export interface TrafficCount {
  readonly from: string;
  readonly to: string;
  readonly messages: number;
}

interface Direction {
  readonly from: string;
  readonly to: string;
  /** Ring of BUCKETS slots; slot i holds the count of the minute `minutes[i]`. */
  readonly minutes: number[];
  readonly counts: number[];
}

/**
 * Messages relayed per direction (source account -> destination account) over the last hour, in
 * minute buckets (issue 10 §2). Memory is 2 x BUCKETS numbers per direction, whatever the traffic;
 * a direction with nothing left in the window is forgotten when read.
 */
export class TrafficCounter {
  private readonly directions = new Map<string, Direction>();
  private readonly now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.now = options.now ?? Date.now;
  }

  record(from: string, to: string, count = 1): void {
    const key = `${from}\u0000${to}`;
    let direction = this.directions.get(key);
    if (direction === undefined) {
      if (this.directions.size >= MAX_TRAFFIC_DIRECTIONS) return;
      direction = {
        from,
        to,
        minutes: new Array<number>(BUCKETS).fill(-1),
        counts: new Array<number>(BUCKETS).fill(0),
      };
      this.directions.set(key, direction);
    }
    const minute = Math.floor(this.now() / TRAFFIC_BUCKET_MS);
    const slot = minute % BUCKETS;
    if (direction.minutes[slot] !== minute) {
      direction.minutes[slot] = minute;
      direction.counts[slot] = 0;
    }
    direction.counts[slot] = (direction.counts[slot] ?? 0) + count;
  }

  /** Per direction, the messages of the current minute and the 59 before it; busiest first. */
  lastHour(): TrafficCount[] {
    const current = Math.floor(this.now() / TRAFFIC_BUCKET_MS);
    const result: TrafficCount[] = [];
    for (const [key, direction] of this.directions) {
      let messages = 0;
      let expired = true;
      for (let i = 0; i < BUCKETS; i++) {
        const minute = direction.minutes[i] ?? -1;
        if (minute <= current - BUCKETS) continue;
        expired = false;
        // A minute ahead of the clock (the clock was set back) counts once the clock reaches it.
        if (minute <= current) messages += direction.counts[i] ?? 0;
      }
      if (expired) this.directions.delete(key);
      else if (messages > 0) result.push({ from: direction.from, to: direction.to, messages });
    }
    return result.sort(
      (a, b) => b.messages - a.messages || a.from.localeCompare(b.from) || a.to.localeCompare(b.to),
    );
  }
}
