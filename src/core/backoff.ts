/**
 * Capped exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And
 * Jitter"), reset after the connection has been stable for a while. One helper for every
 * reconnect loop (house style: "one shared backoff helper").
 */
export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  /** A connection that lasted this long resets the attempt counter. */
  readonly stableAfterMs: number;
  /** Injected for tests; defaults to Math.random. */
  readonly random?: () => number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 1_000, maxMs: 60_000, stableAfterMs: 60_000 };

export class Backoff {
  private attempt = 0;
  private connectedAt: number | undefined;

  constructor(private readonly options: BackoffOptions = DEFAULT_BACKOFF) {}

  /** Delay before the next attempt: uniform in [ceiling/2, ceiling], ceiling = min(max, initial*2^n). */
  next(): number {
    const ceiling = Math.min(this.options.maxMs, this.options.initialMs * 2 ** Math.min(this.attempt, 30));
    this.attempt += 1;
    const random = this.options.random ?? Math.random;
    return Math.round(ceiling / 2 + random() * (ceiling / 2));
  }

  get attempts(): number {
    return this.attempt;
  }

  /** Call when a connection is established. */
  connected(now: number = Date.now()): void {
    this.connectedAt = now;
  }

  /** Call when a connection is lost; resets the counter if it had been stable. */
  disconnected(now: number = Date.now()): void {
    if (this.connectedAt !== undefined && now - this.connectedAt >= this.options.stableAfterMs)
      this.attempt = 0;
    this.connectedAt = undefined;
  }

  reset(): void {
    this.attempt = 0;
  }
}

/** Resolves after ms, or rejects with the signal's reason when aborted. The timer never leaks. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
