import type { Logger } from 'pino';
import type { ChatAdapter } from '../adapters/types.js';
import { DeliveryError } from '../adapters/types.js';
import { sleep } from './backoff.js';
import type { OutboundMessage } from './message.js';

export interface QueueBounds {
  readonly maxMessages: number;
  readonly maxAgeMs: number;
}

/** Retry delays while the destination is connected but a send failed transiently. */
const RETRY_INITIAL_MS = 250;
const RETRY_MAX_MS = 10_000;
/** A send that fails with something other than DeliveryError is retried this often, then dropped. */
const MAX_UNKNOWN_FAILURES = 5;
/** Drop warnings are summed over this window so a flood while down gives one line, not thousands. */
const DROP_LOG_WINDOW_MS = 1_000;

export interface QueueStats {
  depth: number;
  delivered: number;
  dropped: number;
}

/**
 * One destination channel's outbound queue (issue 2 §3). Messages leave strictly in order, one at a
 * time; while the adapter is not connected they wait, bounded by count and age; a bound that drops
 * messages says how many and why. Nothing is dropped silently.
 */
export class OutboundQueue {
  private readonly items: { message: OutboundMessage; enqueuedAt: number }[] = [];
  private pumping = false;
  private readonly abort = new AbortController();
  private pendingDrops = { overflow: 0, expired: 0 };
  private dropTimer: NodeJS.Timeout | undefined;
  readonly stats: QueueStats = { depth: 0, delivered: 0, dropped: 0 };

  constructor(
    private readonly adapter: ChatAdapter,
    readonly channel: string,
    private readonly bounds: QueueBounds,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  get depth(): number {
    return this.items.length;
  }

  /** When the message waiting longest was queued; undefined when nothing waits (status page). */
  get oldestEnqueuedAt(): Date | undefined {
    const head = this.items[0];
    return head === undefined ? undefined : new Date(head.enqueuedAt);
  }

  enqueue(message: OutboundMessage): void {
    this.items.push({ message, enqueuedAt: this.now() });
    if (this.items.length > this.bounds.maxMessages) {
      this.items.splice(0, this.items.length - this.bounds.maxMessages);
      this.noteDrop('overflow', 1);
    }
    this.stats.depth = this.items.length;
    this.kick();
  }

  /** Starts delivering if it is not already; called on enqueue and when the adapter connects. */
  kick(): void {
    if (this.pumping || this.abort.signal.aborted) return;
    this.pumping = true;
    this.pump()
      .catch((error: unknown) =>
        this.log.error({ err: error, channel: this.channel }, 'outbound queue stopped unexpectedly'),
      )
      .finally(() => {
        this.pumping = false;
        // A reconnect can arrive while the pump is winding down (its kick() was ignored): look again.
        if (this.items.length > 0 && this.adapter.status().state === 'connected') this.kick();
      });
  }

  /** Resolves when the queue is empty, or false at the deadline. */
  async drain(deadline: number): Promise<boolean> {
    this.kick();
    for (let i = 0; i < 100_000 && this.items.length > 0 && this.now() < deadline; i++) {
      if (this.adapter.status().state !== 'connected') break;
      await sleep(Math.min(20, Math.max(1, deadline - this.now())));
    }
    return this.items.length === 0;
  }

  close(): void {
    this.abort.abort(new Error('queue closed'));
    this.flushDropLog();
    if (this.items.length > 0) {
      this.log.warn(
        { channel: this.channel, undelivered: this.items.length },
        'shutting down with undelivered messages',
      );
    }
  }

  private async pump(): Promise<void> {
    let retryDelay = RETRY_INITIAL_MS;
    let unknownFailures = 0;
    while (this.items.length > 0 && !this.abort.signal.aborted) {
      this.expire();
      const head = this.items[0];
      if (head === undefined) break;
      if (this.adapter.status().state !== 'connected') return; // resumed by kick() on reconnect
      try {
        await this.adapter.send(head.message);
        this.items.shift();
        this.stats.delivered += 1;
        this.stats.depth = this.items.length;
        retryDelay = RETRY_INITIAL_MS;
        unknownFailures = 0;
        this.log.debug({ channel: this.channel, id: head.message.id }, 'delivered');
      } catch (error) {
        if (error instanceof DeliveryError && !error.retryable) {
          this.dropHead(error, 'rejected by the destination');
          continue;
        }
        if (!(error instanceof DeliveryError)) {
          unknownFailures += 1;
          if (unknownFailures >= MAX_UNKNOWN_FAILURES) {
            this.dropHead(error, `failed ${unknownFailures} times`);
            unknownFailures = 0;
            continue;
          }
        }
        this.log.warn(
          { channel: this.channel, id: head.message.id, err: error, retryInMs: retryDelay },
          'send failed, will retry',
        );
        if (this.adapter.status().state !== 'connected') return;
        try {
          await sleep(retryDelay, this.abort.signal);
        } catch {
          return; // closed while waiting: shutdown reports what is left
        }
        retryDelay = Math.min(RETRY_MAX_MS, retryDelay * 2);
      }
    }
  }

  private dropHead(error: unknown, why: string): void {
    const head = this.items.shift();
    this.stats.depth = this.items.length;
    this.stats.dropped += 1;
    this.log.error({ channel: this.channel, id: head?.message.id, err: error }, `message dropped: ${why}`);
  }

  private expire(): void {
    const oldest = this.now() - this.bounds.maxAgeMs;
    let expired = 0;
    while (this.items.length > 0 && (this.items[0]?.enqueuedAt ?? Infinity) < oldest) {
      this.items.shift();
      expired += 1;
    }
    if (expired > 0) {
      this.stats.depth = this.items.length;
      this.noteDrop('expired', expired);
    }
  }

  private noteDrop(kind: 'overflow' | 'expired', count: number): void {
    this.stats.dropped += count;
    this.pendingDrops[kind] += count;
    if (this.dropTimer === undefined) {
      this.dropTimer = setTimeout(() => this.flushDropLog(), DROP_LOG_WINDOW_MS);
      this.dropTimer.unref();
    }
  }

  private flushDropLog(): void {
    if (this.dropTimer !== undefined) clearTimeout(this.dropTimer);
    this.dropTimer = undefined;
    const { overflow, expired } = this.pendingDrops;
    this.pendingDrops = { overflow: 0, expired: 0 };
    if (overflow > 0) {
      this.log.warn(
        { channel: this.channel, dropped: overflow, maxMessages: this.bounds.maxMessages },
        `dropped ${overflow} oldest queued messages: queue full while the destination is unavailable`,
      );
    }
    if (expired > 0) {
      this.log.warn(
        { channel: this.channel, dropped: expired, maxAgeSeconds: this.bounds.maxAgeMs / 1000 },
        `dropped ${expired} queued messages older than the queue's age limit`,
      );
    }
  }
}
