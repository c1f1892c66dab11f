import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AdapterStatus, ChatAdapter, SendResult } from './adapter.js';
import { DeliveryQueue, type QueueBounds, type QueuedPiece, type QueueStats } from './delivery-queue.js';
import type { EchoGuard } from './echo-guard.js';
import { renderNickFormat } from './format.js';
import type { Gateway } from './gateway.js';
import {
  editText,
  idIn,
  renderReply,
  type MapEntry,
  type ReplyOrigin,
  type ReplyStyle,
} from './conversation.js';
import { TEXT_KEPT_CHARS, type LedgerStore, type PieceRecord } from './ledger.js';
import type { ChatDeletion, ChatMessage, OutboundPiece, Protocol } from './message.js';
import { splitForDestination } from './pieces.js';
import { buildRoutes, parsePiece, routeKey as key, type Route, type RouteTable } from './routes.js';

/** Per-account settings the router needs; it never sees a protocol's own config. */
export interface RouterAccount {
  readonly adapter: ChatAdapter;
  readonly label: string;
  readonly remoteNickFormat: string;
  readonly queueBounds: QueueBounds;
  /** How a reply reads here when the network cannot show the original (issue 8 §1). */
  readonly replyStyle: ReplyStyle;
  /** For edits from this account: put before an edit relayed as new text. */
  readonly editMarker: string;
  /** For edits from this account: older messages' edits are not relayed as new text. */
  readonly editWindowMs: number;
}

/** What one destination gets for a message, beyond the common fields. */
interface PiecePlan {
  /** The text in the destination's formatting, before splitting. */
  readonly body: string;
  readonly replyTo?: string;
  readonly replaces?: string;
  readonly edited?: boolean;
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
  readonly deletion: (deletion: ChatDeletion) => void;
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
  readonly counters = { received: 0, relayed: 0, echoes: 0, unrouted: 0, duplicates: 0, deletions: 0 };

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
    this.relay(message, routes, (route, destination) => {
      const body = this.bodyFor(message, destination);
      return origin === undefined ? { body } : this.replyPlan(origin, body, route, destination);
    });
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
    let discarded = 0;
    for (const { queue } of this.queues.values()) discarded += queue.discard(entry.messageId);
    const messageId = newMessageId();
    const now = this.now();
    const planned: { queue: DeliveryQueue; piece: OutboundPiece; account: string }[] = [];
    for (const [routeIndex, route] of this.routesFrom(source.account, source.channel).entries()) {
      const queue = this.queues.get(key(route.account, route.channel))?.queue;
      const destination = this.accounts.get(route.account);
      if (queue === undefined || destination?.adapter.capabilities.deletes !== true) continue;
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
          origin: { ...source, protocol: this.protocolOf(source.account), gateway: route.gateway },
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
    this.options.store.addPieces(
      planned.map(({ piece, account }) => ({
        id: piece.id,
        messageId,
        account,
        channel: piece.channel,
        enqueuedAt: now,
        payload: JSON.stringify(piece),
      })),
    );
    if (!this.intake) return;
    for (const { queue, piece } of planned) queue.enqueue([{ piece, enqueuedAt: now }]);
  }

  /**
   * An edit (issue 8 §2): relayed only when the map knows the original. A destination holding the
   * relay's copy that can edit in place gets a replacement of it; the others get the change as a
   * new message with the source's edit marker, within the source's edit window.
   */
  private relayEdit(message: ChatMessage, editOf: string, routes: readonly Route[]): void {
    const store = this.options.store;
    const entry = store.findByNetworkId(message.source.account, editOf);
    if (entry === undefined) {
      this.log.debug({ id: message.id }, 'not relaying an edit of a message the relay did not relay');
      return;
    }
    const source = this.accounts.get(message.source.account);
    const inWindow = this.now() - entry.createdAt <= (source?.editWindowMs ?? 0);
    const complete = Array.from(entry.text).length < TEXT_KEPT_CHARS;
    const change = (source?.editMarker ?? '') + editText(entry.text, message.text, complete);
    store.reviseMessage(entry.messageId, message.text);
    this.relay(message, routes, (route, destination) => {
      const target = idIn(entry, route.account, route.channel);
      if (target !== undefined && destination.adapter.capabilities.edits)
        return { body: message.text, replaces: target };
      if (!inWindow) return undefined;
      return { body: change, edited: true };
    });
  }

  /** Who a reply answers: from the map, else from what the adapter fetched; undefined if unknown. */
  private replyOrigin(message: ChatMessage): ReplyOrigin | undefined {
    const reply = message.replyTo;
    if (reply === undefined) return undefined;
    const entry: MapEntry | undefined = this.options.store.findByNetworkId(
      message.source.account,
      reply.networkId,
    );
    if (entry !== undefined) return { nick: entry.nick, text: entry.text, entry };
    if (reply.nick === undefined) return undefined;
    return { nick: reply.nick, text: reply.text ?? '' };
  }

  /**
   * A reply for one destination: linked to the original's id there when the network can show
   * replies and has it; the mention (or quote) in the text unless the network shows the original.
   */
  private replyPlan(origin: ReplyOrigin, body: string, route: Route, destination: RouterAccount): PiecePlan {
    const replies = destination.adapter.capabilities.replies;
    const target = origin.entry === undefined ? undefined : idIn(origin.entry, route.account, route.channel);
    if (target !== undefined && replies !== undefined)
      return { body: replies === 'native' ? body : renderReply('mention', origin, body), replyTo: target };
    return { body: renderReply(destination.replyStyle, origin, body) };
  }

  /**
   * Records the message in the map, splits what `plan` gives each destination (undefined: that
   * destination gets nothing), writes every piece to the store, then queues them.
   */
  private relay(
    message: ChatMessage,
    routes: readonly Route[],
    plan: (route: Route, destination: RouterAccount) => PiecePlan | undefined,
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
    const planned: { queue: DeliveryQueue; pieces: QueuedPiece[] }[] = [];
    const records: PieceRecord[] = [];
    for (const [routeIndex, route] of routes.entries()) {
      const queue = this.queues.get(key(route.account, route.channel))?.queue;
      const destination = this.accounts.get(route.account);
      if (queue === undefined || destination === undefined) continue;
      const wanted = plan(route, destination);
      if (wanted === undefined) continue;
      const pieces = this.piecesFor(
        message,
        `${messageId}.${routeIndex}`,
        messageId,
        route,
        destination,
        wanted,
      );
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

  private routesFrom(account: string, channel: string): readonly Route[] {
    const sourceKey = key(account, channel);
    const { routes: table, folded } = this.table;
    return table.get(sourceKey) ?? table.get(folded.get(sourceKey.toLowerCase()) ?? '') ?? [];
  }

  /** The message's text in the destination's formatting (IRC to IRC keeps mIRC codes). */
  private bodyFor(message: ChatMessage, destination: RouterAccount): string {
    const caps = destination.adapter.capabilities;
    return caps.formatting === 'irc' && message.rich?.format === 'irc' ? message.rich.body : message.text;
  }

  private protocolOf(account: string): Protocol {
    return this.accounts.get(account)?.adapter.protocol ?? 'irc';
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
    plan: PiecePlan,
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
    const split = splitForDestination(plan.body, prefix, caps);
    if (split.cut > 0) {
      this.log.warn(
        { id: message.id, account: route.account, channel: route.channel, cutPieces: split.cut },
        'long message cut to the destination limit',
      );
    }
    // A replacement is one event: the edited message's new text, in its first piece's place.
    const texts = plan.replaces === undefined ? split.texts : split.texts.slice(0, 1);
    const attachment =
      message.attachment?.native?.protocol === destination.adapter.protocol ? message.attachment : undefined;
    return texts.map((text, index) => ({
      id: `${outboundId}.${index}`,
      messageId,
      index,
      count: texts.length,
      kind: message.kind,
      text,
      nick: message.sender.nick,
      prefix: split.prefix,
      ...(plan.edited === true ? { edited: true } : {}),
      ...(index === 0 && plan.replyTo !== undefined ? { replyTo: plan.replyTo } : {}),
      ...(index === 0 && plan.replaces !== undefined ? { replaces: plan.replaces } : {}),
      ...(index === 0 && attachment !== undefined ? { attachment } : {}),
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
