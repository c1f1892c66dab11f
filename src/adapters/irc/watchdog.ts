/**
 * Client-side liveness check (house style: "Liveness watchdogs: IRC ping timeout"). TCP alone may
 * never notice a dead peer; the server sends something at least every ping interval when we ask.
 */
export type WatchdogVerdict =
  | { readonly action: 'none' }
  | { readonly action: 'ping' }
  | { readonly action: 'dead'; readonly idleMs: number };

export class PingWatchdog {
  private lastReceivedAt: number;
  private pingSentAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly pingIntervalMs: number,
    private readonly pingTimeoutMs: number,
    now: number,
  ) {
    this.lastReceivedAt = now;
  }

  /** How often check() should run to act within a quarter interval of a deadline. */
  get checkEveryMs(): number {
    return Math.max(100, Math.min(5_000, this.pingIntervalMs / 4));
  }

  /** Any line from the server counts as a sign of life. */
  received(now: number): void {
    this.lastReceivedAt = now;
  }

  /** Dead after pingTimeoutMs of silence; one PING per silence after pingIntervalMs. */
  check(now: number): WatchdogVerdict {
    const idleMs = now - this.lastReceivedAt;
    if (idleMs >= this.pingTimeoutMs) return { action: 'dead', idleMs };
    if (idleMs >= this.pingIntervalMs && this.pingSentAt < this.lastReceivedAt) {
      this.pingSentAt = now;
      return { action: 'ping' };
    }
    return { action: 'none' };
  }
}
