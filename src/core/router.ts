import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AdapterStatus, ChatAdapter, SendResult } from './adapter.js';
import { DeliveryQueue, type QueueBounds, type QueuedPiece, type QueueStats } from './delivery-queue.js';
import type { EchoGuard } from './echo-guard.js';
import { renderNickFormat } from './format.js';
import type { Gateway } from './gateway.js';
import type { LedgerStore, PieceRecord } from './ledger.js';
import type { ChatMessage, OutboundPiece } from './message.js';
import { splitForDestination } from './pieces.js';
import { buildRoutes, parsePiece, routeKey as key, type Route, type RouteTable } from './routes.js';

/** Per-account settings the router needs; it never sees a protocol's own config. */
export interface RouterAccount {
  readonly adapter: ChatAdapter;
  readonly label: string;
  readonly remoteNickFormat: string;
  readonly queueBounds: QueueBounds;
}

export interface RouterOptions {
  readonly gateways: readonly Gateway[];
  readonly accounts: ReadonlyMap<string, RouterAccount>;
  readonly echoGuard: EchoGuard;
  readonly store: LedgerStore;
  readonly logger: Logger;
  readonly now?: () => number;
  /** Each confirmed piece (status page traffic counts). */
  readonly onDelivered?: (piece: OutboundPiece, account: string) => void;
}

/** Short, unique, URL-safe: it becomes part of Matrix transaction ids. */
const newMessageId = (): string => randomUUID().replaceAll('-', '').slice(0, 20);

export interface QueueSnapshot extends QueueStats {
  readonly account: string;
  readonly channel: string;
}

/** What reconfigure() did to the destination queues. */
export interface ReconfigureResult {
  /** Queues closed (the destination left, or its account got a new adapter): pieces stay in the store. */
  readonly closed: readonly {
    readonly account: string;
    readonly channel: string;
    readonly waiting: number;
  }[];
  /** Queues created; each took back what the store held for its channel. */
  readonly opened: readonly {
    readonly account: string;
    readonly channel: string;
    readonly restored: number;
  }[];
}

interface QueueSlot {
  readonly queue: DeliveryQueue;
  readonly adapter: ChatAdapter;
}

interface Listeners {
  readonly status: (status: AdapterStatus) => void;
  readonly message: (message: ChatMessage) => void;
}

/** Mutable so a reload changes the bounds of a queue that stays (DeliveryQueue reads them live). */
type LiveBounds = { maxMessages: number; maxAgeMs: number };

/**
 * Knows gateways, not protocols (house style). A message from an in/inout entry goes to every
 * out/inout entry of every gateway its source belongs to, never back to its source, each
 * destination once. The router splits it once per destination from that adapter's capabilities,
 * writes every piece to the store before handle() returns, and hands the pieces to the
 * destination's DeliveryQueue, which owns them until they are confirmed.
 */
export class Router {
  private table: RouteTable;
  private accounts: ReadonlyMap<string, RouterAccount>;
  private readonly queues = new Map<string, QueueSlot>();
  private readonly bounds = new Map<string, LiveBounds>();
  private readonly listeners = new Map<ChatAdapter, Listeners>();
  private intake = true;
  private readonly log: Logger;
  private readonly now: () => number;
  readonly counters = { received: 0, relayed: 0, echoes: 0, unrouted: 0, duplicates: 0 };

  constructor(private readonly options: RouterOptions) {
    this.log = options.logger.child({ component: 'router' });
    this.now = options.now ?? Date.now;
    this.accounts = options.accounts;
    this.table = buildRoutes(options.gateways);
    for (const account of options.accounts.values()) this.attach(account.adapter);
    for (const { account, channel } of this.table.destinations) this.queueFor(account, channel);
  }

  /**
   * SIGHUP reload (issue 10 §4): new routes, nick formats and bounds apply to the next message. A
   * destination channel that stays, with the same adapter, keeps its DeliveryQueue (the same
   * object: what is in flight is not touched). A destination that leaves, or whose account got a
   * new adapter, has its queue closed: its pieces stay in the store, and a queue created for it
   * later (the destination returns, or the new adapter) takes them back, in order, within the
   * bounds. The caller stops replaced adapters before this call, so nothing of theirs is in flight.
   */
  reconfigure(gateways: readonly Gateway[], accounts: ReadonlyMap<string, RouterAccount>): ReconfigureResult {
    const previous = this.accounts;
    for (const [id, old] of previous) if (accounts.get(id)?.adapter !== old.adapter) this.detach(old.adapter);
    for (const [id, next] of accounts)
      if (previous.get(id)?.adapter !== next.adapter) this.attach(next.adapter);
    this.accounts = accounts;
    for (const [id, account] of accounts) {
      const bounds = this.bounds.get(id);
      if (bounds !== undefined && previous.get(id)?.adapter === account.adapter)
        Object.assign(bounds, account.queueBounds);
      else this.bounds.delete(id); // a new adapter gets new queues with new bounds
    }
    for (const id of previous.keys()) if (!accounts.has(id)) this.bounds.delete(id);
    this.table = buildRoutes(gateways);
    const wanted = new Set(this.table.destinations.map(({ account, channel }) => key(account, channel)));
    const closed: { account: string; channel: string; waiting: number }[] = [];
    for (const [queueKey, slot] of this.queues) {
      const account = queueKey.split('\u0000')[0] ?? '';
      if (wanted.has(queueKey) && accounts.get(account)?.adapter === slot.adapter) continue;
      closed.push({ account, channel: slot.queue.channel, waiting: slot.queue.depth });
      slot.queue.close();
      this.queues.delete(queueKey);
    }
    const created: string[] = [];
    for (const { account, channel } of this.table.destinations)
      if (this.queueFor(account, channel)) created.push(key(account, channel));
    const restored = this.takeBack(new Set(created));
    return {
      closed,
      opened: created.map((queueKey) => {
        const slot = this.queues.get(queueKey);
        return {
          account: queueKey.split('\u0000')[0] ?? '',
          channel: slot?.queue.channel ?? '',
          restored: restored.get(queueKey) ?? 0,
        };
      }),
    };
  }

  /**
   * Takes back what the store still holds from the last run (pieces not confirmed before a stop
   * or a crash), in their order; the queues' bounds apply as to any other piece.
   */
  restore(): void {
    const { orphans } = this.load(() => true);
    if (orphans.length > 0) {
      this.options.store.removePieces(orphans);
      this.log.warn(
        { dropped: orphans.length },
        'dropped stored messages for channels that are no longer in a gateway',
      );
    }
  }

  /** After a reload: the new queues take back what the store holds for them; the rest stays stored. */
  private takeBack(queueKeys: ReadonlySet<string>): Map<string, number> {
    if (queueKeys.size === 0) return new Map();
    return this.load((queueKey) => queueKeys.has(queueKey)).counts;
  }

  /** Stored pieces into their queues, in store order; those with no queue (or unreadable) are orphans. */
  private load(wanted: (queueKey: string) => boolean): { orphans: string[]; counts: Map<string, number> } {
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
      this.log.info({ channel: queue.channel, waiting: pieces.length }, 'resuming delivery from the store');
      queue.enqueue(pieces);
      counts.set(queueKey, pieces.length);
    }
    return { orphans, counts };
  }

  /**
   * Routes one incoming message. During shutdown (after stopIntake) a message is still written to
   * the store, but not queued: the adapter that read it has moved its position past it, so the
   * next start delivers it.
   */
  handle(message: ChatMessage): void {
    this.counters.received += 1;
    const store = this.options.store;
    if (this.options.echoGuard.isEcho(message.text, message.rich?.body)) {
      this.counters.echoes += 1;
      this.log.debug({ id: message.id, account: message.source.account }, 'dropped echo of our own message');
      return;
    }
    if (message.networkId !== undefined && store.hasSource(message.source.account, message.networkId)) {
      this.counters.duplicates += 1;
      this.log.debug({ id: message.id, account: message.source.account }, 'already relayed');
      return;
    }
    const sourceKey = key(message.source.account, message.source.channel);
    const { routes: table, folded } = this.table;
    const routes = table.get(sourceKey) ?? table.get(folded.get(sourceKey.toLowerCase()) ?? '');
    if (routes === undefined || routes.length === 0) {
      this.counters.unrouted += 1;
      this.log.debug({ id: message.id, account: message.source.account }, 'no gateway for this channel');
      return;
    }
    const messageId = newMessageId();
    const now = this.now();
    store.recordMessage({
      messageId,
      account: message.source.account,
      channel: message.source.channel,
      ...(message.networkId === undefined ? {} : { networkId: message.networkId }),
      nick: message.sender.nick,
      text: message.text,
      createdAt: now,
    });
    const planned: { queue: DeliveryQueue; pieces: QueuedPiece[] }[] = [];
    const records: PieceRecord[] = [];
    for (const [routeIndex, route] of routes.entries()) {
      const queue = this.queues.get(key(route.account, route.channel))?.queue;
      const destination = this.accounts.get(route.account);
      if (queue === undefined || destination === undefined) continue;
      const pieces = this.piecesFor(message, `${messageId}.${routeIndex}`, messageId, route, destination);
      for (const piece of pieces) {
        records.push({
          id: piece.id,
          messageId,
          account: route.account,
          channel: route.channel,
          enqueuedAt: now,
          payload: JSON.stringify(piece),
        });
      }
      planned.push({ queue, pieces: pieces.map((piece) => ({ piece, enqueuedAt: now })) });
      this.counters.relayed += 1;
      this.log.debug({ id: message.id, messageId, to: route.account, pieces: pieces.length }, 'relaying');
    }
    // In the store before handle() returns: a crash from here on loses nothing (issue 7 §3).
    store.addPieces(records);
    if (!this.intake) {
      this.log.debug({ id: message.id, messageId }, 'kept for the next start: shutting down');
      return;
    }
    for (const { queue, pieces } of planned) queue.enqueue(pieces);
  }

  /**
   * Shutdown step one: what arrives from now on is kept in the store for the next start instead of
   * being queued, so the drain has an end; queued pieces still go out.
   */
  stopIntake(): void {
    this.intake = false;
  }

  /** Delivers what is queued until the deadline; true when everything went out. */
  async drain(deadline: number): Promise<boolean> {
    const results = await Promise.all([...this.queues.values()].map(({ queue }) => queue.drain(deadline)));
    return results.every(Boolean);
  }

  close(): void {
    for (const { queue } of this.queues.values()) queue.close();
    for (const adapter of [...this.listeners.keys()]) this.detach(adapter);
  }

  /** Pieces waiting per account (health endpoint). */
  queueDepth(account: string): number {
    let depth = 0;
    for (const [queueKey, { queue }] of this.queues)
      if (queueKey.startsWith(`${account}\u0000`)) depth += queue.depth;
    return depth;
  }

  queueStats(): QueueSnapshot[] {
    return [...this.queues.entries()].map(([queueKey, { queue }]) => ({
      account: queueKey.split('\u0000')[0] ?? '',
      channel: queue.channel,
      ...queue.snapshot(),
    }));
  }

  private piecesFor(
    message: ChatMessage,
    outboundId: string,
    messageId: string,
    route: Route,
    destination: RouterAccount,
  ): OutboundPiece[] {
    const source = this.accounts.get(message.source.account);
    const protocol = source?.adapter.protocol ?? destination.adapter.protocol;
    const caps = destination.adapter.capabilities;
    const prefix = renderNickFormat(destination.remoteNickFormat, {
      nick: message.sender.nick,
      protocol,
      account: message.source.account,
      label: source?.label ?? protocol,
      gateway: route.gateway,
      channel: message.source.channel,
    });
    const body =
      caps.formatting === 'irc' && message.rich?.format === 'irc' ? message.rich.body : message.text;
    const split = splitForDestination(body, prefix, caps);
    if (split.cut > 0) {
      this.log.warn(
        { id: message.id, account: route.account, channel: route.channel, cutPieces: split.cut },
        'long message cut to the destination limit',
      );
    }
    return split.texts.map((text, index) => ({
      id: `${outboundId}.${index}`,
      messageId,
      index,
      count: split.texts.length,
      kind: message.kind,
      text,
      nick: message.sender.nick,
      prefix: split.prefix,
      ...(message.editOf !== undefined ? { edited: true } : {}),
      origin: {
        account: message.source.account,
        channel: message.source.channel,
        protocol,
        gateway: route.gateway,
      },
      channel: route.channel,
      timestamp: message.timestamp.getTime(),
    }));
  }

  private attach(adapter: ChatAdapter): void {
    if (this.listeners.has(adapter)) return;
    const listeners: Listeners = {
      status: (status) => {
        if (status.state === 'connected') this.resume(adapter);
      },
      message: (message) => this.handle(message),
    };
    adapter.on('status', listeners.status);
    adapter.on('message', listeners.message);
    this.listeners.set(adapter, listeners);
  }

  private detach(adapter: ChatAdapter): void {
    const listeners = this.listeners.get(adapter);
    if (listeners === undefined) return;
    adapter.off('status', listeners.status);
    adapter.off('message', listeners.message);
    this.listeners.delete(adapter);
  }

  /** Creates the queue for a destination channel unless it exists; true when it created one. */
  private queueFor(account: string, channel: string): boolean {
    const queueKey = key(account, channel);
    if (this.queues.has(queueKey)) return false;
    const settings = this.accounts.get(account);
    if (settings === undefined) return false;
    let bounds = this.bounds.get(account);
    if (bounds === undefined) {
      bounds = { ...settings.queueBounds };
      this.bounds.set(account, bounds);
    }
    const store = this.options.store;
    this.queues.set(queueKey, {
      adapter: settings.adapter,
      queue: new DeliveryQueue({
        adapter: settings.adapter,
        channel,
        bounds,
        store,
        log: this.log.child({ account }),
        onWire: (text) => this.options.echoGuard.remember(text),
        onDelivered: (piece, result) => this.delivered(account, channel, piece, result),
        ...(this.options.now === undefined ? {} : { now: this.options.now }),
      }),
    });
    return true;
  }

  private delivered(account: string, channel: string, piece: OutboundPiece, result: SendResult): void {
    if (result.networkId !== undefined) {
      this.options.store.recordCopy({
        messageId: piece.messageId,
        account,
        channel,
        networkId: result.networkId,
        pieceIndex: piece.index,
        createdAt: this.now(),
      });
    }
    this.options.onDelivered?.(piece, account);
  }

  private resume(adapter: ChatAdapter): void {
    for (const slot of this.queues.values()) if (slot.adapter === adapter) slot.queue.resume();
  }
}
