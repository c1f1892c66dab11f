import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { ChatAdapter, SendResult } from './adapter.js';
import { DeliveryQueue, type QueueBounds, type QueuedPiece, type QueueStats } from './delivery-queue.js';
import type { EchoGuard } from './echo-guard.js';
import { renderNickFormat } from './format.js';
import type { Gateway } from './gateway.js';
import type { LedgerStore, PieceRecord } from './ledger.js';
import type { ChatMessage, OutboundPiece } from './message.js';
import { splitForDestination } from './pieces.js';

/** Per-account settings the router needs; it never sees a protocol's own config. */
export interface RouterAccount {
  readonly adapter: ChatAdapter;
  readonly label: string;
  readonly remoteNickFormat: string;
  readonly queueBounds: QueueBounds;
}

interface Route {
  readonly gateway: string;
  readonly account: string;
  readonly channel: string;
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

const key = (account: string, channel: string): string => `${account}\u0000${channel}`;

/** Short, unique, URL-safe: it becomes part of Matrix transaction ids. */
const newMessageId = (): string => randomUUID().replaceAll('-', '').slice(0, 20);

export interface QueueSnapshot extends QueueStats {
  readonly account: string;
  readonly channel: string;
}

/**
 * Knows gateways, not protocols (house style). A message from an in/inout entry goes to every
 * out/inout entry of every gateway its source belongs to, never back to its source, each
 * destination once. The router splits it once per destination from that adapter's capabilities,
 * writes every piece to the store before handle() returns, and hands the pieces to the
 * destination's DeliveryQueue, which owns them until they are confirmed.
 */
export class Router {
  private readonly routes = new Map<string, Route[]>();
  /** Lower-cased source key -> configured key, for networks whose names fold case (IRC). */
  private readonly folded = new Map<string, string>();
  private readonly queues = new Map<string, DeliveryQueue>();
  private intake = true;
  private readonly log: Logger;
  private readonly now: () => number;
  readonly counters = { received: 0, relayed: 0, echoes: 0, unrouted: 0, duplicates: 0 };

  constructor(private readonly options: RouterOptions) {
    this.log = options.logger.child({ component: 'router' });
    this.now = options.now ?? Date.now;
    for (const gateway of options.gateways) {
      for (const source of gateway.endpoints) {
        if (source.direction === 'out') continue;
        const sourceKey = key(source.account, source.channel);
        const list = this.routes.get(sourceKey) ?? [];
        for (const destination of gateway.endpoints) {
          if (destination.direction === 'in') continue;
          if (destination.account === source.account && destination.channel === source.channel) continue;
          if (list.some((r) => r.account === destination.account && r.channel === destination.channel))
            continue;
          list.push({ gateway: gateway.name, account: destination.account, channel: destination.channel });
        }
        this.routes.set(sourceKey, list);
        this.folded.set(sourceKey.toLowerCase(), sourceKey);
      }
      for (const endpoint of gateway.endpoints) this.queueFor(endpoint.account, endpoint.channel);
    }
    for (const [, account] of options.accounts) {
      account.adapter.on('status', (status) => {
        if (status.state === 'connected') this.resume(account.adapter.account);
      });
      account.adapter.on('message', (message) => this.handle(message));
    }
  }

  /**
   * Takes back what the store still holds from the last run (pieces not confirmed before a stop
   * or a crash), in their order; the queues' bounds apply as to any other piece.
   */
  restore(): void {
    const byQueue = new Map<DeliveryQueue, QueuedPiece[]>();
    const orphans: string[] = [];
    for (const record of this.options.store.pendingPieces()) {
      const queue = this.queues.get(key(record.account, record.channel));
      const piece = parsePiece(record.payload);
      if (queue === undefined || piece === undefined) {
        orphans.push(record.id);
        continue;
      }
      const list = byQueue.get(queue) ?? [];
      list.push({ piece, enqueuedAt: record.enqueuedAt });
      byQueue.set(queue, list);
    }
    if (orphans.length > 0) {
      this.options.store.removePieces(orphans);
      this.log.warn(
        { dropped: orphans.length },
        'dropped stored messages for channels that are no longer in a gateway',
      );
    }
    for (const [queue, pieces] of byQueue) {
      this.log.info({ channel: queue.channel, waiting: pieces.length }, 'resuming delivery from the store');
      queue.enqueue(pieces);
    }
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
    const routes =
      this.routes.get(sourceKey) ?? this.routes.get(this.folded.get(sourceKey.toLowerCase()) ?? '');
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
      const queue = this.queues.get(key(route.account, route.channel));
      const destination = this.options.accounts.get(route.account);
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
    const results = await Promise.all([...this.queues.values()].map((queue) => queue.drain(deadline)));
    return results.every(Boolean);
  }

  close(): void {
    for (const queue of this.queues.values()) queue.close();
  }

  /** Pieces waiting per account (health endpoint). */
  queueDepth(account: string): number {
    let depth = 0;
    for (const [queueKey, queue] of this.queues)
      if (queueKey.startsWith(`${account}\u0000`)) depth += queue.depth;
    return depth;
  }

  queueStats(): QueueSnapshot[] {
    return [...this.queues.entries()].map(([queueKey, queue]) => ({
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
    const source = this.options.accounts.get(message.source.account);
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
      ...(message.edited === true ? { edited: true } : {}),
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

  private queueFor(account: string, channel: string): void {
    const queueKey = key(account, channel);
    if (this.queues.has(queueKey)) return;
    const settings = this.options.accounts.get(account);
    if (settings === undefined) return;
    const store = this.options.store;
    this.queues.set(
      queueKey,
      new DeliveryQueue({
        adapter: settings.adapter,
        channel,
        bounds: settings.queueBounds,
        store,
        log: this.log.child({ account }),
        onWire: (text) => this.options.echoGuard.remember(text),
        onDelivered: (piece, result) => this.delivered(account, channel, piece, result),
        ...(this.options.now === undefined ? {} : { now: this.options.now }),
      }),
    );
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

  private resume(account: string): void {
    for (const [queueKey, queue] of this.queues) if (queueKey.startsWith(`${account}\u0000`)) queue.resume();
  }
}

/** A stored piece back into an OutboundPiece; a row the code cannot read is dropped (and said). */
function parsePiece(payload: string): OutboundPiece | undefined {
  try {
    const value = JSON.parse(payload) as Partial<OutboundPiece> | null;
    if (
      value === null ||
      typeof value.id !== 'string' ||
      typeof value.messageId !== 'string' ||
      typeof value.text !== 'string' ||
      typeof value.prefix !== 'string' ||
      typeof value.channel !== 'string'
    )
      return undefined;
    return value as OutboundPiece;
  } catch {
    return undefined; // counted and logged by the caller as an orphan
  }
}
