import { sleep } from './backoff.js';

/** Milliseconds since some fixed point; injected so tests control time. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => performance.now() };

/**
 * A token bucket (one token per line or message): `burst` may go at once, then `ratePerSecond` per
 * second; rate 0 means unlimited. The one throttle for every adapter: IRC flood control polls it
 * (waitMs/tryTake/forceTake) from its send queue, Kosmi awaits take().
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;
  /** take() callers are served in call order. */
  private turn: Promise<void> = Promise.resolve();

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
   * wait, such as PONG and JOIN, which an IRC server counts all the same.
   */
  forceTake(): void {
    if (this.unlimited) return;
    this.refill();
    this.tokens -= 1;
  }

  /** Waits until a token is available, then takes it; callers are served in call order. */
  take(signal?: AbortSignal): Promise<void> {
    const mine = this.turn.then(async () => {
      for (let wait = this.waitMs(); wait > 0; wait = this.waitMs()) await sleep(wait, signal);
      this.tryTake();
    });
    this.turn = mine.catch(() => undefined);
    return mine;
  }

  private refill(): void {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) * this.ratePerSecond) / 1000);
    this.updatedAt = now;
  }
}
