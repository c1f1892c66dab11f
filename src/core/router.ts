import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AdapterStatus, ChatAdapter, SendResult } from './adapter.js';
import {
  editPlan,
  replyPlan,
  type PiecePlan,
  type PlanTarget,
  type ReplyOrigin,
  type ReplyStyle,
} from './conversation.js';
import type { QueueBounds, QueuedPiece } from './delivery-queue.js';
import type { DeliveryQueue } from './delivery-queue.js';
import { Destinations, type QueueSnapshot } from './destinations.js';
import type { EchoGuard } from './echo-guard.js';
import { renderNickFormat } from './format.js';
import type { Gateway } from './gateway.js';
import type { LedgerStore, PieceRecord } from './ledger.js';
import type { ChatDeletion, ChatMessage, OutboundPiece } from './message.js';
import { buildPieces } from './pieces.js';
import { buildRoutes, routeKey as key, type Route, type RouteTable } from './routes.js';

export type { QueueSnapshot } from './destinations.js';

/** Per-account settings the router needs; it never sees a protocol's own config. */
export interface RouterAccount {
  readonly adapter: ChatAdapter;
  readonly label: string;
  readonly remoteNickFormat: string;
  readonly queueBounds: QueueBounds;
  /** How a reply relayed here reads when the network cannot show the original (issue 8 §1). */
  readonly replyStyle: ReplyStyle;
  /** For edits from this account: put before an edit relayed as new text. */
  readonly editMarker: string;
  /** For edits from this account: older messages' edits are not relayed as new text. */
  readonly editWindowMs: number;
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

/** A piece as the store keeps it until its destination (account, piece.channel) confirms it. */
const pieceRecord = (piece: OutboundPiece, account: string, enqueuedAt: number): PieceRecord => ({
  id: piece.id,
  messageId: piece.messageId,
  account,
  channel: piece.channel,
  enqueuedAt,
  payload: JSON.stringify(piece),
});

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

interface Listeners {
  readonly status: (status: AdapterStatus) => void;
  readonly message: (message: ChatMessage) => void;
  readonly deletion: (deletion: ChatDeletion) => void;
}

/**
 * Knows gateways, not protocols (house style). A message from an in/inout entry goes to every
 * out/inout entry of every gateway its source belongs to, never back to its source, each
 * destination once. The router splits it once per destination from that adapter's capabilities,
 * writes every piece to the store before handle() returns, and hands the pieces to the
 * destination's DeliveryQueue, which owns them until they are confirmed. Replies, edits and
 * deletions follow the message map (conversation.ts decides how each destination shows them).
 */
export class Router {
  private table: RouteTable;
  private accounts: ReadonlyMap<string, RouterAccount>;
  private readonly destinations: Destinations;
  private readonly listeners = new Map<ChatAdapter, Listeners>();
  private intake = true;
  private readonly log: Logger;
  private readonly now: () => number;
  readonly counters = { received: 0, relayed: 0, echoes: 0, unrouted: 0, duplicates: 0, deletions: 0 };

  constructor(private readonly options: RouterOptions) {
    this.log = options.logger.child({ component: 'router' });
    this.now = options.now ?? Date.now;
    this.accounts = options.accounts;
    this.table = buildRoutes(options.gateways);
    this.destinations = new Destinations({
      store: options.store,
      log: this.log,
      onWire: (text) => options.echoGuard.remember(text),
      onDelivered: (account, channel, piece, result) => this.delivered(account, channel, piece, result),
      ...(options.now === undefined ? {} : { now: options.now }),
    });
    for (const account of options.accounts.values()) this.attach(account.adapter);
    for (const { account, channel } of this.table.destinations)
      this.destinations.open(account, channel, this.accounts.get(account));
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
    this.table = buildRoutes(gateways);
    const wanted = new Set(this.table.destinations.map(({ account, channel }) => key(account, channel)));
    const closed = this.destinations.retain(wanted, previous, accounts);
    const created: { account: string; channel: string }[] = [];
    for (const { account, channel } of this.table.destinations)
      if (this.destinations.open(account, channel, accounts.get(account))) created.push({ account, channel });
    const keys = new Set(created.map(({ account, channel }) => key(account, channel)));
    const restored =
      keys.size === 0 ? new Map<string, number>() : this.destinations.load((k) => keys.has(k)).counts;
    return {
      closed,
      opened: created.map(({ account, channel }) => ({
        account,
        channel,
        restored: restored.get(key(account, channel)) ?? 0,
      })),
    };
  }

  /**
   * Takes back what the store still holds from the last run (pieces not confirmed before a stop
   * or a crash), in their order; the queues' bounds apply as to any other piece.
   */
  restore(): void {
    const { orphans } = this.destinations.load(() => true);
    if (orphans.length > 0) {
      this.options.store.removePieces(orphans);
      this.log.warn(
        { dropped: orphans.length },
        'dropped stored messages for channels that are no longer in a gateway',
      );
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
    const routes = this.routesFrom(message.source.account, message.source.channel);
    if (routes.length === 0) {
      this.counters.unrouted += 1;
      this.log.debug({ id: message.id, account: message.source.account }, 'no gateway for this channel');
      return;
    }
    if (message.editOf !== undefined) {
      this.relayEdit(message, message.editOf, routes);
      return;
    }
    const origin = this.replyOrigin(message);
    this.relay(message, routes, (target, body) =>
      origin === undefined ? { body } : replyPlan(origin, body, target),
    );
  }

  /**
   * A message removed on its network (issue 8 §3): what still waits of it is not delivered, and
   * the relay's copies are removed where the destination can (Matrix redactions).
   */
  handleDeletion(deletion: ChatDeletion): void {
    const { source, networkId } = deletion;
    const entry = this.options.store.findByNetworkId(source.account, networkId);
    if (entry === undefined) {
      this.log.debug({ account: source.account }, 'deletion of a message the relay did not relay');
      return;
    }
    this.counters.deletions += 1;
    const discarded = this.destinations.discard(entry.messageId);
    const messageId = newMessageId();
    const now = this.now();
    const protocol = this.accounts.get(source.account)?.adapter.protocol ?? 'matrix';
    const planned: { queue: DeliveryQueue; piece: OutboundPiece; account: string }[] = [];
    for (const [routeIndex, route] of this.routesFrom(source.account, source.channel).entries()) {
      const queue = this.destinations.get(route.account, route.channel);
      if (queue === undefined || this.accounts.get(route.account)?.adapter.capabilities.deletes !== true)
        continue;
      const copies = entry.copies.filter((c) => c.account === route.account && c.channel === route.channel);
      for (const [index, copy] of copies.entries()) {
        const piece: OutboundPiece = {
          id: `${messageId}.${routeIndex}.${index}`,
          messageId,
          index,
          count: copies.length,
          kind: 'text',
          text: '',
          nick: entry.nick,
          prefix: '',
          redacts: copy.networkId,
          origin: { ...source, protocol, gateway: route.gateway },
          channel: route.channel,
          timestamp: now,
        };
        planned.push({ queue, piece, account: route.account });
      }
    }
    this.log.info(
      { account: source.account, channel: source.channel, notDelivered: discarded, removals: planned.length },
      'relaying a deletion',
    );
    this.options.store.addPieces(planned.map(({ piece, account }) => pieceRecord(piece, account, now)));
    if (!this.intake) return;
    for (const { queue, piece } of planned) queue.enqueue([{ piece, enqueuedAt: now }]);
  }

  /**
   * An edit (issue 8 §2): relayed only when the map knows the original, and remembered as the
   * original's new text (what the next edit is compared with).
   */
  private relayEdit(message: ChatMessage, editOf: string, routes: readonly Route[]): void {
    const store = this.options.store;
    const entry = store.findByNetworkId(message.source.account, editOf);
    if (entry === undefined) {
      this.log.debug({ id: message.id }, 'not relaying an edit of a message the relay did not relay');
      return;
    }
    const source = this.accounts.get(message.source.account);
    const edit = {
      entry,
      text: message.text,
      marker: source?.editMarker ?? '',
      inWindow: this.now() - entry.createdAt <= (source?.editWindowMs ?? 0),
    };
    store.reviseMessage(entry.messageId, message.text);
    this.relay(message, routes, (target) => editPlan(edit, target));
  }

  /** Who a reply answers: from the map, else from what the adapter fetched; undefined if unknown. */
  private replyOrigin(message: ChatMessage): ReplyOrigin | undefined {
    const reply = message.replyTo;
    if (reply === undefined) return undefined;
    const entry = this.options.store.findByNetworkId(message.source.account, reply.networkId);
    if (entry !== undefined) return { nick: entry.nick, text: entry.text, entry };
    if (reply.nick === undefined) return undefined;
    return { nick: reply.nick, text: reply.text ?? '' };
  }

  /**
   * Records the message in the map, splits what `plan` gives each destination (undefined: that
   * destination gets nothing), writes every piece to the store, then queues them. `plan` gets the
   * message's text in the destination's formatting (IRC to IRC keeps mIRC codes).
   */
  private relay(
    message: ChatMessage,
    routes: readonly Route[],
    plan: (target: PlanTarget, body: string) => PiecePlan | undefined,
  ): void {
    const store = this.options.store;
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
    const source = this.accounts.get(message.source.account);
    const planned: { queue: DeliveryQueue; pieces: QueuedPiece[] }[] = [];
    const records: PieceRecord[] = [];
    for (const [routeIndex, route] of routes.entries()) {
      const queue = this.destinations.get(route.account, route.channel);
      const destination = this.accounts.get(route.account);
      if (queue === undefined || destination === undefined) continue;
      const caps = destination.adapter.capabilities;
      const target = { ...route, capabilities: caps, replyStyle: destination.replyStyle };
      const body =
        caps.formatting === 'irc' && message.rich?.format === 'irc' ? message.rich.body : message.text;
      const wanted = plan(target, body);
      if (wanted === undefined) continue;
      const protocol = source?.adapter.protocol ?? destination.adapter.protocol;
      const prefix = renderNickFormat(destination.remoteNickFormat, {
        nick: message.sender.nick,
        protocol,
        account: message.source.account,
        label: source?.label ?? protocol,
        gateway: route.gateway,
        channel: message.source.channel,
      });
      const { pieces, cut } = buildPieces(
        {
          message,
          outboundId: `${messageId}.${routeIndex}`,
          messageId,
          origin: { ...message.source, protocol, gateway: route.gateway },
          channel: route.channel,
          destination: destination.adapter.protocol,
          prefix,
          plan: wanted,
        },
        caps,
      );
      if (cut > 0) {
        this.log.warn(
          { id: message.id, account: route.account, channel: route.channel, cutPieces: cut },
          'long message cut to the destination limit',
        );
      }
      for (const piece of pieces) records.push(pieceRecord(piece, route.account, now));
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

  private routesFrom(account: string, channel: string): readonly Route[] {
    const sourceKey = key(account, channel);
    const { routes: table, folded } = this.table;
    return table.get(sourceKey) ?? table.get(folded.get(sourceKey.toLowerCase()) ?? '') ?? [];
  }

  /**
   * Shutdown step one: what arrives from now on is kept in the store for the next start instead of
   * being queued, so the drain has an end; queued pieces still go out.
   */
  stopIntake(): void {
    this.intake = false;
  }

  /** Delivers what is queued until the deadline; true when everything went out. */
  drain(deadline: number): Promise<boolean> {
    return this.destinations.drain(deadline);
  }

  close(): void {
    this.destinations.close();
    for (const adapter of [...this.listeners.keys()]) this.detach(adapter);
  }

  /** Pieces waiting per account (health endpoint). */
  queueDepth(account: string): number {
    return this.destinations.depth(account);
  }

  queueStats(): QueueSnapshot[] {
    return this.destinations.stats();
  }

  private attach(adapter: ChatAdapter): void {
    if (this.listeners.has(adapter)) return;
    const listeners: Listeners = {
      status: (status) => {
        if (status.state === 'connected') this.destinations.resume(adapter);
      },
      message: (message) => this.handle(message),
      deletion: (deletion) => this.handleDeletion(deletion),
    };
    adapter.on('status', listeners.status);
    adapter.on('message', listeners.message);
    adapter.on('deletion', listeners.deletion);
    this.listeners.set(adapter, listeners);
  }

  private detach(adapter: ChatAdapter): void {
    const listeners = this.listeners.get(adapter);
    if (listeners === undefined) return;
    adapter.off('status', listeners.status);
    adapter.off('message', listeners.message);
    adapter.off('deletion', listeners.deletion);
    this.listeners.delete(adapter);
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
}
