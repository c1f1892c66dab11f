import type { Logger } from 'pino';
import type { ChatAdapter, SendResult } from './adapter.js';
import { DeliveryQueue, type QueueBounds, type QueuedPiece, type QueueStats } from './delivery-queue.js';
import type { LedgerStore } from './ledger.js';
import type { OutboundPiece } from './message.js';
import { parsePiece, routeKey as key } from './routes.js';

/** What a destination's queues need to know about its account. */
export interface DestinationAccount {
  readonly adapter: ChatAdapter;
  readonly queueBounds: QueueBounds;
}

export interface QueueSnapshot extends QueueStats {
  readonly account: string;
  readonly channel: string;
}

export interface DestinationsOptions {
  readonly store: LedgerStore;
  readonly log: Logger;
  /** Records a line an adapter put on the wire (echo memory). */
  readonly onWire: (text: string) => void;
  readonly onDelivered: (account: string, channel: string, piece: OutboundPiece, result: SendResult) => void;
  readonly now?: () => number;
}

interface QueueSlot {
  readonly queue: DeliveryQueue;
  readonly adapter: ChatAdapter;
}

/** Mutable so a reload changes the bounds of a queue that stays (DeliveryQueue reads them live). */
type LiveBounds = { maxMessages: number; maxAgeMs: number };

/**
 * The router's destination channels: one DeliveryQueue each, keyed by account and channel, with
 * the account's bounds shared by its queues, and what the store holds loaded back into them.
 */
export class Destinations {
  private readonly queues = new Map<string, QueueSlot>();
  private readonly bounds = new Map<string, LiveBounds>();

  constructor(private readonly options: DestinationsOptions) {}

  get(account: string, channel: string): DeliveryQueue | undefined {
    return this.queues.get(key(account, channel))?.queue;
  }

  /** Creates the queue for a destination channel unless it exists; true when it created one. */
  open(account: string, channel: string, settings: DestinationAccount | undefined): boolean {
    const queueKey = key(account, channel);
    if (this.queues.has(queueKey) || settings === undefined) return false;
    let bounds = this.bounds.get(account);
    if (bounds === undefined) {
      bounds = { ...settings.queueBounds };
      this.bounds.set(account, bounds);
    }
    const { store, log, onWire, onDelivered, now } = this.options;
    this.queues.set(queueKey, {
      adapter: settings.adapter,
      queue: new DeliveryQueue({
        adapter: settings.adapter,
        channel,
        bounds,
        store,
        log: log.child({ account }),
        onWire,
        onDelivered: (piece, result) => onDelivered(account, channel, piece, result),
        ...(now === undefined ? {} : { now }),
      }),
    });
    return true;
  }

  /**
   * A reload's new accounts: an account that keeps its adapter keeps its queues and takes the new
   * bounds live; an account with a new adapter (or none) loses its bounds, so its new queues get
   * the new ones. Then every queue not in `wanted`, or of a replaced adapter, is closed (its
   * pieces stay in the store).
   */
  retain(
    wanted: ReadonlySet<string>,
    previous: ReadonlyMap<string, DestinationAccount>,
    accounts: ReadonlyMap<string, DestinationAccount>,
  ): { account: string; channel: string; waiting: number }[] {
    for (const [id, account] of accounts) {
      const bounds = this.bounds.get(id);
      if (bounds !== undefined && previous.get(id)?.adapter === account.adapter)
        Object.assign(bounds, account.queueBounds);
      else this.bounds.delete(id);
    }
    for (const id of previous.keys()) if (!accounts.has(id)) this.bounds.delete(id);
    const closed: { account: string; channel: string; waiting: number }[] = [];
    for (const [queueKey, slot] of this.queues) {
      const account = queueKey.split('\u0000')[0] ?? '';
      if (wanted.has(queueKey) && accounts.get(account)?.adapter === slot.adapter) continue;
      closed.push({ account, channel: slot.queue.channel, waiting: slot.queue.depth });
      slot.queue.close();
      this.queues.delete(queueKey);
    }
    return closed;
  }

  /**
   * Stored pieces into their queues, in store order, for the queues `wanted` accepts; those with
   * no queue (or unreadable) are orphans.
   */
  load(wanted: (queueKey: string) => boolean): { orphans: string[]; counts: Map<string, number> } {
    const byQueue = new Map<string, QueuedPiece[]>();
    const orphans: string[] = [];
    for (const record of this.options.store.pendingPieces()) {
      const queueKey = key(record.account, record.channel);
      if (!wanted(queueKey)) continue;
      const piece = parsePiece(record.payload);
      if (!this.queues.has(queueKey) || piece === undefined) {
        orphans.push(record.id);
        continue;
      }
      const list = byQueue.get(queueKey) ?? [];
      list.push({ piece, enqueuedAt: record.enqueuedAt });
      byQueue.set(queueKey, list);
    }
    const counts = new Map<string, number>();
    for (const [queueKey, pieces] of byQueue) {
      const queue = this.queues.get(queueKey)?.queue;
      if (queue === undefined) continue;
      this.options.log.info(
        { channel: queue.channel, waiting: pieces.length },
        'resuming delivery from the store',
      );
      queue.enqueue(pieces);
      counts.set(queueKey, pieces.length);
    }
    return { orphans, counts };
  }

  /** Drops what still waits of one message in every queue (it was deleted); returns how many. */
  discard(messageId: string): number {
    let discarded = 0;
    for (const { queue } of this.queues.values()) discarded += queue.discard(messageId);
    return discarded;
  }

  resume(adapter: ChatAdapter): void {
    for (const slot of this.queues.values()) if (slot.adapter === adapter) slot.queue.resume();
  }

  /** Delivers what is queued until the deadline; true when everything went out. */
  async drain(deadline: number): Promise<boolean> {
    const results = await Promise.all([...this.queues.values()].map(({ queue }) => queue.drain(deadline)));
    return results.every(Boolean);
  }

  close(): void {
    for (const { queue } of this.queues.values()) queue.close();
  }

  /** Pieces waiting per account (health endpoint). */
  depth(account: string): number {
    let depth = 0;
    for (const [queueKey, { queue }] of this.queues)
      if (queueKey.startsWith(`${account}\u0000`)) depth += queue.depth;
    return depth;
  }

  stats(): QueueSnapshot[] {
    return [...this.queues.entries()].map(([queueKey, { queue }]) => ({
      account: queueKey.split('\u0000')[0] ?? '',
      channel: queue.channel,
      ...queue.snapshot(),
    }));
  }
}
