import type { Logger } from 'pino';
import { DeliveryError, type ChatAdapter, type SendResult } from './adapter.js';
import { errorMessage } from './errors.js';
import type { LedgerStore } from './ledger.js';
import type { OutboundPiece } from './message.js';

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
const DRAIN_POLL_MS = 10;

export interface QueueStats {
  depth: number;
  delivered: number;
  dropped: number;
  /** When the oldest waiting piece was accepted (ms since the epoch), if any waits. */
  oldestEnqueuedAt?: number;
}

export interface QueuedPiece {
  readonly piece: OutboundPiece;
  readonly enqueuedAt: number;
}

interface Entry extends QueuedPiece {
  sending: boolean;
  failures: number;
}

export interface DeliveryQueueOptions {
  readonly adapter: ChatAdapter;
  readonly channel: string;
  readonly bounds: QueueBounds;
  readonly store: LedgerStore;
  readonly log: Logger;
  /** Records a line the adapter put on the wire (echo memory). */
  readonly onWire: (text: string) => void;
  readonly onDelivered: (piece: OutboundPiece, result: SendResult) => void;
  readonly now?: () => number;
}

/**
 * One destination channel's delivery (issue 7 §3): the single owner of a piece from the moment the
 * router accepted it until its destination confirmed it. Pieces leave in order, up to the
 * adapter's `inFlight` at once; each stays in the store until confirmed. While the adapter is not
 * connected they wait, bounded by count and age; a bound that drops pieces says how many and why.
 * A retryable failure stops the queue until everything in flight has settled, then sends again
 * from the oldest unconfirmed piece, so order holds across reconnects.
 */
export class DeliveryQueue {
  private items: Entry[] = [];
  private inFlight = 0;
  private blocked = false;
  private retryDelay = RETRY_INITIAL_MS;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private pendingDrops = { overflow: 0, expired: 0 };
  private dropTimer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  readonly stats: { delivered: number; dropped: number } = { delivered: 0, dropped: 0 };

  constructor(private readonly options: DeliveryQueueOptions) {
    this.now = options.now ?? Date.now;
  }

  get channel(): string {
    return this.options.channel;
  }

  get depth(): number {
    return this.items.length;
  }

  snapshot(): QueueStats {
    const oldest = this.items[0]?.enqueuedAt;
    return {
      depth: this.items.length,
      ...this.stats,
      ...(oldest === undefined ? {} : { oldestEnqueuedAt: oldest }),
    };
  }

  /** Takes pieces already written to the store (the router wrote them before handing them here). */
  enqueue(pieces: readonly QueuedPiece[]): void {
    for (const queued of pieces) this.items.push({ ...queued, sending: false, failures: 0 });
    this.expire();
    // The count bound is for a destination that is away: one that is connected but slower than
    // a burst (a flood-controlled IRC server) drains its backlog instead of dropping it.
    if (this.options.adapter.status().state !== 'connected') this.enforceCount();
    this.resume();
  }

  /**
   * Removes the waiting pieces of one message (it was deleted on its network before it went out)
   * from the queue and the store; a piece already on its way is left to finish. Returns how many.
   */
  discard(messageId: string): number {
    const gone = this.items.filter((item) => !item.sending && item.piece.messageId === messageId);
    if (gone.length > 0) this.removeMany(gone);
    return gone.length;
  }

  /** Starts delivering if it can; called on enqueue and when the adapter connects. */
  resume(): void {
    if (this.retryTimer !== undefined || this.closed) return;
    this.pump();
  }

  /** Resolves true when the queue is empty, or false at the deadline or when the destination is down. */
  async drain(deadline: number): Promise<boolean> {
    this.resume();
    const polls = Math.ceil(Math.max(0, deadline - this.now()) / DRAIN_POLL_MS) + 1;
    for (let i = 0; i < polls && this.items.length > 0 && this.now() < deadline; i++) {
      if (this.options.adapter.status().state !== 'connected') break;
      await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
    }
    return this.items.length === 0;
  }

  /** Shutdown: nothing more is sent; what waits stays in the store for the next start. */
  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.flushDropLog();
    if (this.items.length > 0) {
      this.options.log.info(
        { channel: this.channel, waiting: this.items.length },
        'pieces still waiting are kept for the next start',
      );
    }
  }

  private pump(): void {
    const adapter = this.options.adapter;
    const window = Math.max(1, adapter.capabilities.inFlight);
    while (!this.closed && !this.blocked && this.inFlight < window) {
      if (adapter.status().state !== 'connected') return; // resumed by kick() on reconnect
      this.expire();
      const entry = this.items.find((item) => !item.sending);
      if (entry === undefined) return;
      entry.sending = true;
      this.inFlight += 1;
      adapter.send(entry.piece, this.options.onWire).then(
        (result) => this.delivered(entry, result),
        (error: unknown) => this.failed(entry, error),
      );
    }
  }

  private delivered(entry: Entry, result: SendResult): void {
    this.inFlight -= 1;
    this.remove(entry);
    this.stats.delivered += 1;
    this.retryDelay = RETRY_INITIAL_MS;
    this.options.onDelivered(entry.piece, result);
    this.options.log.debug({ channel: this.channel, id: entry.piece.id }, 'delivered');
    this.settled();
  }

  private failed(entry: Entry, error: unknown): void {
    this.inFlight -= 1;
    entry.sending = false;
    if (error instanceof DeliveryError && !error.retryable) {
      this.drop(entry, error, 'rejected by the destination');
      this.settled();
      return;
    }
    if (!(error instanceof DeliveryError) && ++entry.failures >= MAX_UNKNOWN_FAILURES) {
      this.drop(entry, error, `failed ${entry.failures} times`);
      this.settled();
      return;
    }
    const asked = error instanceof DeliveryError ? error.retryAfterMs : undefined;
    if (asked !== undefined) this.retryDelay = Math.max(this.retryDelay, asked);
    if (!this.blocked) {
      this.options.log.warn(
        { channel: this.channel, id: entry.piece.id, err: error, delayMs: this.retryDelay },
        'send failed, will retry',
      );
    }
    this.blocked = true; // nothing new goes out until what is in flight has settled
    this.settled();
  }

  /** After each settled send: resume, or once nothing is in flight after a failure, retry. */
  private settled(): void {
    if (this.closed) return;
    if (!this.blocked) {
      this.pump();
      return;
    }
    if (this.inFlight > 0) return;
    this.blocked = false;
    if (this.options.adapter.status().state !== 'connected') return; // kick() on reconnect
    const delay = this.retryDelay;
    this.retryDelay = Math.min(RETRY_MAX_MS, Math.max(RETRY_INITIAL_MS, this.retryDelay) * 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.pump();
    }, delay);
  }

  private remove(entry: Entry): void {
    const at = this.items.indexOf(entry);
    if (at >= 0) this.items.splice(at, 1);
    this.options.store.removePieces([entry.piece.id]);
  }

  private drop(entry: Entry, error: unknown, why: string): void {
    this.remove(entry);
    this.stats.dropped += 1;
    this.options.log.error(
      { channel: this.channel, id: entry.piece.id, err: error, reason: errorMessage(error) },
      `message dropped: ${why}`,
    );
  }

  /** Drops waiting pieces older than the age bound (never one in flight). */
  private expire(): void {
    const oldest = this.now() - this.options.bounds.maxAgeMs;
    const expired = this.items.filter((item) => !item.sending && item.enqueuedAt < oldest);
    if (expired.length === 0) return;
    this.removeMany(expired);
    this.noteDrop('expired', expired.length);
  }

  /** Drops the oldest waiting pieces beyond the count bound. */
  private enforceCount(): void {
    const excess = this.items.length - this.options.bounds.maxMessages;
    if (excess <= 0) return;
    const dropped = this.items.filter((item) => !item.sending).slice(0, excess);
    this.removeMany(dropped);
    this.noteDrop('overflow', dropped.length);
  }

  private removeMany(entries: readonly Entry[]): void {
    const gone = new Set(entries);
    this.items = this.items.filter((item) => !gone.has(item));
    this.options.store.removePieces(entries.map((entry) => entry.piece.id));
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
    clearTimeout(this.dropTimer);
    this.dropTimer = undefined;
    const { overflow, expired } = this.pendingDrops;
    this.pendingDrops = { overflow: 0, expired: 0 };
    const log = this.options.log;
    if (overflow > 0) {
      log.warn(
        { channel: this.channel, dropped: overflow, maxMessages: this.options.bounds.maxMessages },
        'dropped the oldest waiting messages: queue full while the destination is unavailable',
      );
    }
    if (expired > 0) {
      log.warn(
        { channel: this.channel, dropped: expired, maxAgeSeconds: this.options.bounds.maxAgeMs / 1000 },
        "dropped waiting messages older than the queue's age limit",
      );
    }
  }
}
