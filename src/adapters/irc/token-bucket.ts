/** Milliseconds since some fixed point; injected so tests control time. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => performance.now() };

/**
 * A token bucket (one token per line): `burst` lines may go at once, then `ratePerSecond` lines per
 * second. Rate 0 means unlimited.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly burst: number,
    private readonly ratePerSecond: number,
    private readonly clock: Clock = systemClock,
  ) {
    this.tokens = burst;
    this.updatedAt = clock.now();
  }

  get unlimited(): boolean {
    return this.ratePerSecond <= 0;
  }

  /** Milliseconds until one token is available; 0 when it is now. */
  waitMs(): number {
    if (this.unlimited) return 0;
    this.refill();
    if (this.tokens >= 1) return 0;
    return Math.ceil(((1 - this.tokens) * 1000) / this.ratePerSecond);
  }

  /** Takes one token if one is available. */
  tryTake(): boolean {
    if (this.unlimited) return true;
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /**
   * Takes one token even when none is left (the balance goes negative): for lines that cannot
   * wait, such as PONG and JOIN, which the server counts all the same.
   */
  forceTake(): void {
    if (this.unlimited) return;
    this.refill();
    this.tokens -= 1;
  }

  private refill(): void {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) * this.ratePerSecond) / 1000);
    this.updatedAt = now;
  }
}
